package devtest

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// peerWait bounds each step of a peer on an external broker (wall time).
const peerWait = 10 * time.Second

// Message is one message a peer subscription received.
type Message struct {
	Topic   string
	Payload []byte
	QoS     byte
	Retain  bool
	AtMs    int64
}

// peerSub is a world.subscribe(filter): the messages a peer subscribed to filter received.
type peerSub struct {
	filter string
	// On the embedded broker: the inline subscription's identifier and handler, subscribed
	// again on every broker start (embeddedBroker.start).
	id     int
	inline mqtt.InlineSubFn
	// On an external broker: a value each time the peer's client has subscribed (it
	// reconnects and subscribes again after a broker restart).
	ready chan struct{}
	mu    sync.Mutex
	msgs  []Message
}

func (s *peerSub) add(m Message) {
	s.mu.Lock()
	if len(s.msgs) < maxRecorded {
		s.msgs = append(s.msgs, m)
	}
	s.mu.Unlock()
}

func (s *peerSub) messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// subscribe makes a peer subscription to filter and returns once the broker has it.
func (w *World) subscribe(filter string) (*peerSub, error) {
	s := &peerSub{filter: filter}
	if w.embedded != nil {
		w.embedded.mu.Lock()
		b := w.embedded.b
		w.embedded.mu.Unlock()
		if b == nil {
			return nil, errors.New("broker is stopped")
		}
		w.mu.Lock()
		s.id = len(w.peers) + 1
		w.mu.Unlock()
		s.inline = func(_ *mqtt.Client, _ packets.Subscription, pk packets.Packet) {
			w.activity.Add(1)
			s.add(Message{Topic: pk.TopicName, Payload: append([]byte(nil), pk.Payload...), QoS: pk.FixedHeader.Qos,
				Retain: pk.FixedHeader.Retain, AtMs: w.NowMs()})
		}
		if err := b.Server().Subscribe(filter, s.id, s.inline); err != nil {
			return nil, err
		}
	} else {
		// Like the recording peer, the client reconnects by itself and subscribes again on every
		// connection, so a broker restart keeps the subscription (waitReady waits for it).
		s.ready = make(chan struct{}, 1)
		handler := func(_ paho.Client, m paho.Message) {
			w.activity.Add(1)
			s.add(Message{Topic: m.Topic(), Payload: append([]byte(nil), m.Payload()...), QoS: m.Qos(),
				Retain: m.Retained(), AtMs: w.NowMs()})
		}
		errs := make(chan error, 1)
		_, err := w.ext.dial(func(o *paho.ClientOptions) {
			o.SetAutoReconnect(true).SetMaxReconnectInterval(100 * time.Millisecond)
			o.SetOnConnectHandler(func(c paho.Client) {
				go func() {
					tok := c.Subscribe(filter, 2, handler)
					if !tok.WaitTimeout(peerWait) || tok.Error() != nil {
						select {
						case errs <- fmt.Errorf("peer subscribe %s: %v", filter, tok.Error()):
						default:
						}
						return
					}
					select {
					case s.ready <- struct{}{}:
					default:
					}
				}()
			})
		})
		if err != nil {
			return nil, err
		}
		select {
		case <-s.ready:
		case err := <-errs:
			return nil, err
		case <-time.After(peerWait + peerWait/2):
			return nil, fmt.Errorf("peer subscribe %s: timeout", filter)
		}
	}
	w.mu.Lock()
	w.peers = append(w.peers, s)
	w.mu.Unlock()
	return s, nil
}

// peerSubs returns the peer subscriptions made so far. Any goroutine.
func (w *World) peerSubs() []*peerSub {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]*peerSub(nil), w.peers...)
}

// maxPublishSize is the largest remaining length of an MQTT 3.1.1 packet (268,435,455 bytes,
// the four-byte variable length encoding's maximum): a peer PUBLISH whose topic and payload
// make it larger cannot be sent, and world.publish fails instead of reporting success.
const maxPublishSize = 268_435_455

// publishSize is the remaining length of a PUBLISH: topic length prefix and topic, the packet
// id for QoS 1 and 2, the payload.
func publishSize(topic string, payload int, qos byte) int {
	n := 2 + len(topic) + payload
	if qos > 0 {
		n += 2
	}
	return n
}

// checkPublishSize fails a PUBLISH over maxPublishSize.
func checkPublishSize(topic string, payload int, qos byte) error {
	if n := publishSize(topic, payload, qos); n > maxPublishSize {
		return fmt.Errorf("a PUBLISH of %d bytes (topic %d, payload %d) is over MQTT's maximum packet size of %d bytes: not sent",
			n, len(topic), payload, maxPublishSize)
	}
	return nil
}

// publish publishes as a peer and returns once the broker has the message (QoS 0: once sent).
func (w *World) publish(topic string, payload []byte, qos byte, retain bool) error {
	if err := checkPublishSize(topic, len(payload), qos); err != nil {
		return err
	}
	if w.embedded != nil {
		return w.embedded.publish(topic, payload, qos, retain)
	}
	w.expectActivity() // the broker is out of sight: wait for the delivery to show
	return w.ext.publish(topic, payload, qos, retain)
}

// externalPeer is the world's own clients on an external broker: one that publishes and
// records every device publish (subscribed to '#'), and one per world.subscribe.
type externalPeer struct {
	w       *World
	opts    Options
	main    paho.Client
	ready   chan struct{} // a value each time the recording peer has subscribed to '#'
	probed  chan string   // probe topics seen through '#'
	mu      sync.Mutex
	clients []paho.Client
	own     map[string]int // topic+"\x00"+payload published by the peer, not yet seen back
}

func newExternalPeer(w *World, opts Options) (*externalPeer, error) {
	p := &externalPeer{w: w, opts: opts, own: map[string]int{}, ready: make(chan struct{}, 1),
		probed: make(chan string, 16)}
	record := func(_ paho.Client, m paho.Message) {
		if strings.HasPrefix(m.Topic(), probePrefix) {
			select {
			case p.probed <- m.Topic():
			default:
			}
			return
		}
		key := m.Topic() + "\x00" + string(m.Payload())
		p.mu.Lock()
		mine := p.own[key] > 0
		if mine {
			p.own[key]--
		}
		p.mu.Unlock()
		if !mine && !m.Retained() {
			w.recordPublished(Published{Topic: m.Topic(), Payload: append([]byte(nil), m.Payload()...), QoS: m.Qos()})
		}
	}
	// The recording peer reconnects by itself (a test may stop and restart the broker) and
	// subscribes again on every connection.
	cl, err := p.dial(func(o *paho.ClientOptions) {
		o.SetAutoReconnect(true).SetMaxReconnectInterval(100 * time.Millisecond)
		o.SetOnConnectHandler(func(c paho.Client) {
			go func() {
				tok := c.Subscribe("#", 2, record)
				if tok.WaitTimeout(peerWait) && tok.Error() == nil {
					select {
					case p.ready <- struct{}{}:
					default:
					}
				}
			}()
		})
	})
	if err != nil {
		return nil, err
	}
	p.main = cl
	if err := p.waitReady(); err != nil {
		p.close()
		return nil, err
	}
	return p, nil
}

// waitReady waits (wall time, bounded) until the recording peer is subscribed again.
// It then checks the subscription end to end: a probe message must come back through '#'.
func (p *externalPeer) waitReady() error {
	deadline := time.After(peerWait)
	select {
	case <-p.ready:
	case <-deadline:
		return fmt.Errorf("peer: no subscription to # on %s within %v", p.opts.Broker, peerWait)
	}
	if !p.probe(deadline) {
		return fmt.Errorf("peer: the subscription to # on %s does not deliver within %v", p.opts.Broker, peerWait)
	}
	// The test's own peers (world.subscribe) are subscribed again too before time moves on.
	for _, s := range p.w.peerSubs() {
		if s.ready == nil {
			continue
		}
		select {
		case <-s.ready:
		case <-deadline:
			return fmt.Errorf("peer: world.subscribe(%q) not subscribed again on %s within %v", s.filter, p.opts.Broker, peerWait)
		}
	}
	return nil
}

// probe publishes a probe message (QoS 0, again every 200 ms) until it comes back through
// '#', and reports whether it did before deadline.
//
// QoS 0 on purpose: paho calls the OnConnect handler (which subscribes and then lets
// waitReady probe) while its reconnect is still resending the stored messages of the session;
// a QoS 1 probe stored meanwhile was resent with DUP set while its writer was encoding it (a
// data race inside paho that failed the test under -race, and a duplicate delivery).
func (p *externalPeer) probe(deadline <-chan time.Time) bool {
	id := make([]byte, 6)
	_, _ = rand.Read(id)
	topic := probePrefix + hex.EncodeToString(id)
	for {
		p.main.Publish(topic, 0, false, "probe")
		select {
		case got := <-p.probed:
			if got == topic {
				return true
			}
		case <-time.After(200 * time.Millisecond):
		case <-deadline:
			return false
		}
	}
}

// syncExternal is the barrier that lets settle see, before it lets device time move on, the
// deliveries of what devices wrote to an external broker. The broker is another process: a
// device's PUBLISH reaches the '#' peer only after the broker and paho's goroutines ran, which
// on a loaded machine took longer than Quiet, so device time raced past the test's budget
// (40 s of device time in a few wall milliseconds) while the messages were still on their way
// (docs/testing.md). Two probes one after the other: the second is published only once the
// first came back, so the broker read it after the device's bytes that were already in its
// socket, and the peer's single connection delivers in order. Reports whether it synced
// (false: nothing written since the last barrier, no external broker, or it is stopped).
// Test goroutine.
func (w *World) syncExternal() bool {
	if w.ext == nil || w.extStopped {
		return false
	}
	n := w.deviceWrites.Load()
	if n == w.syncedWrites.Load() {
		return false
	}
	deadline := time.After(peerWait)
	for i := 0; i < 2; i++ {
		if !w.ext.probe(deadline) {
			break // the broker is gone or stuck: settle goes on as before
		}
	}
	w.syncedWrites.Store(n)
	return true
}

// probePrefix starts the topics of the peer's own probes, which are not recorded.
const probePrefix = "devtest-probe/"

// dial opens a peer client on the external broker (MQTT 3.1.1, clean session).
func (p *externalPeer) dial(configure func(*paho.ClientOptions)) (paho.Client, error) {
	id := make([]byte, 6)
	_, _ = rand.Read(id)
	o := paho.NewClientOptions().SetClientID("devtest-peer-" + hex.EncodeToString(id)).
		SetAutoReconnect(false).SetConnectTimeout(peerWait).SetCleanSession(true).SetProtocolVersion(4)
	o.AddBroker("tcp://" + p.opts.Broker)
	if p.opts.PeerUser != "" {
		o.SetUsername(p.opts.PeerUser).SetPassword(p.opts.PeerPass)
	}
	if configure != nil {
		configure(o)
	}
	cl := paho.NewClient(o)
	tok := cl.Connect()
	if !tok.WaitTimeout(peerWait + peerWait/2) {
		return nil, fmt.Errorf("peer: connect to %s: timeout", p.opts.Broker)
	}
	if err := tok.Error(); err != nil {
		return nil, fmt.Errorf("peer: connect to %s: %v", p.opts.Broker, err)
	}
	p.mu.Lock()
	p.clients = append(p.clients, cl)
	p.mu.Unlock()
	return cl, nil
}

func (p *externalPeer) publish(topic string, payload []byte, qos byte, retain bool) error {
	p.mu.Lock()
	p.own[topic+"\x00"+string(payload)]++
	p.mu.Unlock()
	tok := p.main.Publish(topic, qos, retain, payload)
	if !tok.WaitTimeout(peerWait) {
		return fmt.Errorf("peer publish %s: timeout", topic)
	}
	return tok.Error()
}

func (p *externalPeer) close() {
	p.mu.Lock()
	cs := p.clients
	p.mu.Unlock()
	for _, c := range cs {
		c.Disconnect(50)
	}
}
