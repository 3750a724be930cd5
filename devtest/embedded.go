package devtest

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/devicejs/devicejs/broker"
	"github.com/devicejs/devicejs/internal/mqttwire"
)

// ErrNeedsEmbedded is thrown (as a JS Error) by broker controls that only the embedded broker
// supports when a test runs against --broker HOST:PORT.
var ErrNeedsEmbedded = errors.New("needs the embedded broker (not available with --broker)")

// Published is one PUBLISH the broker received from a client.
type Published struct {
	ClientID string
	Topic    string
	Payload  []byte
	QoS      byte
	Retain   bool
	AtMs     int64 // device time since the test started, in milliseconds
}

// embeddedBroker is a test's in-process mochi broker that the test can stop, restart, refuse
// and restrict. Its connections are in-memory (no port). Safe from any goroutine.
type embeddedBroker struct {
	w *World

	mu      sync.Mutex
	b       *broker.Broker // nil while stopped
	refuse  byte           // CONNACK return code sent instead of accepting; 0 = accept
	users   map[string]string
	denies  []aclRule
	started int
	alive   map[*mqtt.Client]*keepAliveWatch // clients with a keepalive, expired on device time
}

// keepAliveWatch is the broker's keepalive of one client on the test's device clock (MQTT 3.1.1
// section 3.1.2.10: disconnect a client silent for 1.5 times its keepalive, as if the network had
// failed, which sends its will). mochi's own expiry is a wall-time read deadline in whole
// seconds: it is switched off for every client (OnConnect sets the keepalive mochi sees to 0)
// and this one runs instead. Fields other than last are guarded by embeddedBroker.mu.
type keepAliveWatch struct {
	cl     *mqtt.Client
	limit  time.Duration // 1.5 x the client's keepalive
	last   atomic.Int64  // device time (UnixNano) of the latest packet read from the client
	stop   func() bool
	gone   chan struct{} // closed when mochi has finished with the client (OnDisconnect)
	closed bool
}

// expiryWait bounds (wall time) how long an expiry waits for mochi to finish with the client
// it disconnected (its will published), so that device time moves on only afterwards.
const expiryWait = 2 * time.Second

type aclRule struct {
	filter string
	write  bool // publish (true) or subscribe/receive (false)
}

func newEmbeddedBroker(w *World) (*embeddedBroker, error) {
	e := &embeddedBroker{w: w}
	return e, e.start()
}

// start starts a new mochi instance (a restart loses sessions and retained messages, like a
// broker without persistence).
func (e *embeddedBroker) start() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.b != nil {
		return nil
	}
	b, err := broker.New(broker.Config{UserTable: e.userTable, ACL: e.acl})
	if err != nil {
		return err
	}
	if err := b.Server().AddHook(&tapHook{e: e}, nil); err != nil {
		return err
	}
	if err := b.Start(); err != nil {
		return err
	}
	e.b = b
	e.started++
	// Peers keep their subscriptions across a restart, as on an external broker (issue 18 D):
	// they are back before the test's time moves on.
	for _, p := range e.w.peerSubs() {
		if err := b.Server().Subscribe(p.filter, p.id, p.inline); err != nil {
			return err
		}
	}
	return nil
}

// stop closes the broker: every client is disconnected and new connections are refused
// (ECONNREFUSED) until restart.
func (e *embeddedBroker) stop() {
	e.mu.Lock()
	b := e.b
	e.b = nil
	e.mu.Unlock()
	if b != nil {
		_ = b.Close()
	}
	e.w.activity.Add(1)
}

// running reports whether the broker is started.
func (e *embeddedBroker) running() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.b != nil
}

// backend is the dial behind every device connection (after the in-process TLS front).
func (e *embeddedBroker) backend(ctx context.Context) (net.Conn, error) {
	e.mu.Lock()
	b, rc := e.b, e.refuse
	e.mu.Unlock()
	if b == nil {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	}
	if rc != 0 {
		return refusingConn(rc), nil
	}
	return b.DialMemory(ctx)
}

// userTable is the broker's user table (broker.Config.UserTable): nil admits everyone, else
// the broker admits the listed users with their passwords. setUsers replaces the map, never
// changes it, so the broker may read the one returned.
func (e *embeddedBroker) userTable() map[string]string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.users
}

func (e *embeddedBroker) acl(user, clientID, topic string, write bool) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, r := range e.denies {
		if r.write == write && mqttwire.TopicMatch(r.filter, topic) {
			return false
		}
	}
	return true
}

func (e *embeddedBroker) setRefuse(rc byte) {
	e.mu.Lock()
	e.refuse = rc
	e.mu.Unlock()
}

func (e *embeddedBroker) setUsers(u map[string]string) {
	e.mu.Lock()
	e.users = u
	e.mu.Unlock()
}

func (e *embeddedBroker) deny(filter string, write bool) {
	e.mu.Lock()
	e.denies = append(e.denies, aclRule{filter: filter, write: write})
	e.mu.Unlock()
}

// publish sends a message from the broker's inline client (the world acting as a peer).
func (e *embeddedBroker) publish(topic string, payload []byte, qos byte, retain bool) error {
	e.mu.Lock()
	b := e.b
	e.mu.Unlock()
	if b == nil {
		return errors.New("broker is stopped")
	}
	e.w.activity.Add(1)
	return b.Server().Publish(topic, payload, retain, qos)
}

func (e *embeddedBroker) close() { e.stop() }

// tapHook records what clients publish and keeps their keepalive on device time.
type tapHook struct {
	mqtt.HookBase
	e *embeddedBroker
}

func (h *tapHook) ID() string { return "devtest-tap" }

func (h *tapHook) Provides(b byte) bool {
	switch b {
	case mqtt.OnPublish, mqtt.OnPacketRead, mqtt.OnPacketSent,
		mqtt.OnConnect, mqtt.OnSessionEstablished, mqtt.OnDisconnect:
		return true
	}
	return false
}

// OnConnect takes the keepalive over from mochi: mochi expires it on wall time (a read deadline),
// the world on device time (keepAliveWatch). Runs before mochi sets the deadline.
func (h *tapHook) OnConnect(cl *mqtt.Client, _ packets.Packet) error {
	cl.State.Keepalive = 0 // mochi: no deadline
	return nil
}

// OnSessionEstablished starts the device-time expiry of an accepted client with a keepalive
// (pk is its CONNECT).
func (h *tapHook) OnSessionEstablished(cl *mqtt.Client, pk packets.Packet) {
	k := pk.Connect.Keepalive
	if k == 0 || cl.Net.Inline {
		return
	}
	e := h.e
	ka := &keepAliveWatch{cl: cl, limit: time.Duration(k) * 1500 * time.Millisecond, gone: make(chan struct{})}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.alive == nil {
		e.alive = map[*mqtt.Client]*keepAliveWatch{}
	}
	e.alive[cl] = ka
	ka.last.Store(e.w.clock.Now().UnixNano())
	ka.stop = e.w.clock.AfterFunc(ka.limit, func() { e.keepAliveDue(ka) })
}

// OnDisconnect ends a client's expiry; mochi has sent its will (if any) by now.
func (h *tapHook) OnDisconnect(cl *mqtt.Client, _ error, _ bool) {
	e := h.e
	e.mu.Lock()
	ka := e.alive[cl]
	delete(e.alive, cl)
	if ka != nil && !ka.closed {
		ka.closed = true
		if ka.stop != nil {
			ka.stop()
		}
		close(ka.gone)
	}
	e.mu.Unlock()
}

// keepAliveDue is a client's expiry timer (on the test's goroutine, as every device-time
// timer): the client is disconnected when it has sent nothing for 1.5 x its keepalive of
// device time, else the timer is set again for the rest.
func (e *embeddedBroker) keepAliveDue(ka *keepAliveWatch) {
	e.mu.Lock()
	if ka.closed {
		e.mu.Unlock()
		return
	}
	now := e.w.clock.Now()
	if left := time.Unix(0, ka.last.Load()).Add(ka.limit).Sub(now); left > 0 {
		ka.stop = e.w.clock.AfterFunc(left, func() { e.keepAliveDue(ka) })
		e.mu.Unlock()
		return
	}
	ka.stop = nil
	e.mu.Unlock()
	e.w.activity.Add(1)
	// As if the network had failed [MQTT-3.1.2-24]: mochi's read fails, it publishes the will
	// and forgets the client. Wait for that, bounded, before device time moves on.
	if c := ka.cl.Net.Conn; c != nil {
		_ = c.Close()
	}
	select {
	case <-ka.gone:
	case <-time.After(expiryWait):
	}
}

func (h *tapHook) OnPacketRead(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	h.e.w.activity.Add(1)
	h.e.mu.Lock()
	ka := h.e.alive[cl]
	h.e.mu.Unlock()
	if ka != nil {
		ka.last.Store(h.e.w.clock.Now().UnixNano())
	}
	return pk, nil
}

func (h *tapHook) OnPacketSent(cl *mqtt.Client, pk packets.Packet, b []byte) { h.e.w.activity.Add(1) }

func (h *tapHook) OnPublish(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	if !cl.Net.Inline {
		h.e.w.recordPublished(Published{ClientID: cl.ID, Topic: pk.TopicName,
			Payload: append([]byte(nil), pk.Payload...), QoS: pk.FixedHeader.Qos, Retain: pk.FixedHeader.Retain})
	}
	return pk, nil
}

// maxRefusedConnect bounds the CONNECT a refusing connection reads (a will of the spec's
// largest payload fits).
const maxRefusedConnect = 16 << 20

// refusingConn answers the first CONNECT with CONNACK return code rc and closes.
func refusingConn(rc byte) net.Conn {
	client, server := net.Pipe()
	go func() {
		defer server.Close()
		if _, _, err := mqttwire.ReadPacket(server, maxRefusedConnect); err != nil {
			return
		}
		_, _ = server.Write([]byte{0x20, 0x02, 0x00, rc})
		_, _ = io.Copy(io.Discard, server)
	}()
	return client
}
