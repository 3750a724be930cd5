package broker

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// Talking to devices from Go: Publish, Subscribe and Clients use mochi's inline client, so a
// gateway needs no MQTT connection of its own and no mochi type.

// Bounds of the Go API.
const (
	// MaxTopicLen is the longest topic name or filter Publish and Subscribe accept, in bytes
	// (MQTT's UTF-8 string limit). Devices themselves accept at most 127 bytes.
	MaxTopicLen = 65535
	// MaxPacketSize is MQTT's largest packet remaining length: Publish refuses a payload for
	// which 2 + len(topic) + 2 + len(payload) exceeds it.
	MaxPacketSize = 268435455
	// MaxQueuedMessages and MaxQueuedBytes bound each Subscribe callback's queue of messages
	// waiting for it; a message arriving at a full queue is dropped (DeliveryStats.Dropped).
	// A message is always admitted into an empty queue, whatever its size.
	MaxQueuedMessages = 1024
	MaxQueuedBytes    = 16 << 20
)

// Errors of the Go API. Topic errors are *TopicError, which errors.Is matches to
// ErrInvalidTopic.
var (
	// ErrInvalidTopic is matched by every *TopicError.
	ErrInvalidTopic = errors.New("broker: invalid topic")
	// ErrInvalidQoS is returned by Publish for a QoS above 2.
	ErrInvalidQoS = errors.New("broker: QoS must be 0, 1 or 2")
	// ErrPayloadTooLarge is returned by Publish when the message would not fit an MQTT packet
	// (MaxPacketSize).
	ErrPayloadTooLarge = errors.New("broker: payload too large for an MQTT packet")
	// ErrNilCallback is returned by Subscribe for a nil callback.
	ErrNilCallback = errors.New("broker: nil Subscribe callback")
)

// TopicError is a topic name (Publish) or filter (Subscribe) that MQTT does not allow.
type TopicError struct {
	Topic  string // the topic, cut to its first 64 bytes
	Filter bool   // it was given as a filter (Subscribe)
	Reason string // why it is refused
}

// Error implements error, e.g. `broker: invalid topic "a/+": wildcard not allowed in a topic name`.
func (e *TopicError) Error() string {
	return fmt.Sprintf("broker: invalid topic %q: %s", e.Topic, e.Reason)
}

// Unwrap returns ErrInvalidTopic.
func (e *TopicError) Unwrap() error { return ErrInvalidTopic }

func topicError(s string, filter bool, format string, args ...any) error {
	if len(s) > 64 {
		s = strings.ToValidUTF8(s[:64], "\uFFFD") + "..."
	}
	return &TopicError{Topic: s, Filter: filter, Reason: fmt.Sprintf(format, args...)}
}

// validateTopic checks a topic name (filter false) or filter (filter true) against the MQTT
// rules: 1 to MaxTopicLen bytes of valid UTF-8 without NUL [MQTT-4.7.3-1, MQTT-4.7.3-2,
// MQTT-1.5.3-1, MQTT-1.5.3-2]; no wildcard in a name [MQTT-3.3.2-2]; in a filter '+' and '#'
// only as whole levels, '#' last [MQTT-4.7.1-2, MQTT-4.7.1-3].
func validateTopic(s string, filter bool) error {
	switch {
	case s == "":
		return topicError(s, filter, "empty")
	case len(s) > MaxTopicLen:
		return topicError(s, filter, "longer than %d bytes (%d)", MaxTopicLen, len(s))
	case !utf8.ValidString(s):
		return topicError(s, filter, "not valid UTF-8")
	case strings.IndexByte(s, 0) >= 0:
		return topicError(s, filter, "contains NUL")
	}
	if !filter {
		if i := strings.IndexAny(s, "+#"); i >= 0 {
			return topicError(s, filter, "wildcard %q not allowed in a topic name", s[i])
		}
		return nil
	}
	rest := s
	for {
		level, more, found := strings.Cut(rest, "/")
		switch {
		case level == "#" && found:
			return topicError(s, filter, "'#' must be the last level")
		case level == "#", level == "+":
		case strings.ContainsAny(level, "+#"):
			return topicError(s, filter, "wildcard must occupy a whole level")
		}
		if !found {
			return nil
		}
		rest = more
	}
}

// state returns nil if the broker is serving, else ErrNotStarted or ErrClosed.
func (b *Broker) state() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return ErrClosed
	}
	if !b.started {
		return ErrNotStarted
	}
	return nil
}

// Publish sends a message to the clients subscribed to topic, and to Subscribe callbacks, as
// if a client had published it (ACL and Users do not apply: the Go side is trusted). QoS 1 and
// 2 apply between the broker and each subscriber; retain keeps the message for later
// subscribers. payload is copied. Publish returns a *TopicError for a topic that is not a
// valid MQTT topic name (empty, wildcard, NUL, invalid UTF-8, over MaxTopicLen),
// ErrInvalidQoS, ErrPayloadTooLarge, ErrNotStarted before Start and ErrClosed after Close.
// Safe from any goroutine; it does not wait for subscribers.
func (b *Broker) Publish(topic string, payload []byte, qos byte, retain bool) error {
	if err := validateTopic(topic, false); err != nil {
		return err
	}
	if qos > 2 {
		return ErrInvalidQoS
	}
	if len(payload) > MaxPacketSize-4-len(topic) {
		return ErrPayloadTooLarge
	}
	if err := b.state(); err != nil {
		return err
	}
	if retain { // mochi reads a topic's retained path unlocked while Subscribe scans for retained messages
		b.retainMu.Lock()
		defer b.retainMu.Unlock()
	}
	if err := b.srv.Publish(topic, bytes.Clone(payload), retain, qos); err != nil {
		return fmt.Errorf("broker: publish: %w", err)
	}
	return nil
}

// Message is a message delivered to a Subscribe callback. It is the callback's own: Payload
// is a copy.
type Message struct {
	Topic    string
	Payload  []byte
	QoS      byte   // the QoS it was published with
	Retain   bool   // a retained message, sent when the subscription was made
	ClientID string // the publishing client's id; "inline" for Publish
}

// DeliveryStats counts the work of the Subscribe callbacks since New.
type DeliveryStats struct {
	Delivered uint64 // callback calls (panicking ones included)
	Dropped   uint64 // messages dropped because a callback's queue was full
	Panics    uint64 // callback calls that panicked (recovered and logged)
}

// DeliveryStats returns the Subscribe callbacks' counters. Safe from any goroutine.
func (b *Broker) DeliveryStats() DeliveryStats {
	b.subsMu.Lock()
	defer b.subsMu.Unlock()
	return b.delivery
}

// inlineSub is one Subscribe: a queue of copied messages and the goroutine calling fn.
type inlineSub struct {
	b      *Broker
	id     int
	filter string
	fn     func(Message)

	mu      sync.Mutex
	q       []Message
	bytes   int
	stopped bool
	wake    chan struct{} // cap 1: the queue is not empty, or stopped
	done    chan struct{} // closed when the goroutine returns
}

// Subscribe calls fn with a copy of every message published to a topic matching filter, by
// clients or by Publish, in the order the broker routed them, one call at a time per
// subscription, on a goroutine the subscription owns (fn may block; messages wait in a queue
// bounded by MaxQueuedMessages and MaxQueuedBytes, and are dropped when it is full). Retained
// messages matching filter are delivered first. A panic in fn is recovered, logged to
// Config.Logger and counted (DeliveryStats.Panics); the broker and later calls go on.
//
// Subscribe may be called before Start (to see a device's first messages); it returns a
// *TopicError for an invalid filter, ErrNilCallback, and ErrClosed after Close. unsubscribe
// stops delivery (messages still queued are dropped) without waiting for a call in progress,
// so fn may call it; it is idempotent. Close waits for every callback in progress to return.
// Safe from any goroutine.
func (b *Broker) Subscribe(filter string, fn func(Message)) (unsubscribe func(), err error) {
	if err := validateTopic(filter, true); err != nil {
		return nil, err
	}
	if fn == nil {
		return nil, ErrNilCallback
	}
	s := &inlineSub{b: b, filter: filter, fn: fn, wake: make(chan struct{}, 1), done: make(chan struct{})}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil, ErrClosed
	}
	b.subsMu.Lock()
	b.nextSubID++
	s.id = b.nextSubID
	if b.subs == nil {
		b.subs = make(map[*inlineSub]struct{})
	}
	b.subs[s] = struct{}{}
	b.subsMu.Unlock()
	b.subsWG.Add(1)
	b.mu.Unlock()
	go s.run()
	b.retainMu.Lock()
	err = b.srv.Subscribe(filter, s.id, s.handle)
	b.retainMu.Unlock()
	if err != nil {
		s.stop()
		return nil, fmt.Errorf("broker: subscribe: %w", err)
	}
	return s.stop, nil
}

// handle is the mochi inline handler: it runs on the goroutine of the publishing client (or of
// Publish, or of Subscribe for retained messages), so it only copies and queues.
func (s *inlineSub) handle(_ *mqtt.Client, _ packets.Subscription, pk packets.Packet) {
	n := len(pk.TopicName) + len(pk.Payload)
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return
	}
	if len(s.q) > 0 && (len(s.q) >= MaxQueuedMessages || s.bytes+n > MaxQueuedBytes) {
		s.mu.Unlock()
		s.b.count(func(d *DeliveryStats) { d.Dropped++ })
		return
	}
	s.q = append(s.q, Message{Topic: pk.TopicName, Payload: bytes.Clone(pk.Payload),
		QoS: pk.FixedHeader.Qos, Retain: pk.FixedHeader.Retain, ClientID: pk.Origin})
	s.bytes += n
	select { // under s.mu: stop closes wake under it
	case s.wake <- struct{}{}:
	default:
	}
	s.mu.Unlock()
}

// run delivers the queue until stop.
func (s *inlineSub) run() {
	defer s.b.subsWG.Done()
	defer close(s.done)
	for range s.wake {
		for {
			s.mu.Lock()
			if s.stopped {
				s.mu.Unlock()
				return
			}
			if len(s.q) == 0 {
				s.q = s.q[:0:0] // let a burst's backing array go
				s.mu.Unlock()
				break
			}
			m := s.q[0]
			s.q[0] = Message{}
			s.q = s.q[1:]
			s.bytes -= len(m.Topic) + len(m.Payload)
			s.mu.Unlock()
			s.call(m)
		}
	}
}

// call runs fn, recovering a panic.
func (s *inlineSub) call(m Message) {
	defer func() {
		r := recover()
		s.b.count(func(d *DeliveryStats) {
			d.Delivered++
			if r != nil {
				d.Panics++
			}
		})
		if r != nil {
			s.b.log.Error("broker: Subscribe callback panicked", "filter", s.filter, "topic", m.Topic, "panic", fmt.Sprint(r))
		}
	}()
	s.fn(m)
}

// stop is the unsubscribe function: it removes the mochi subscription and ends the goroutine.
func (s *inlineSub) stop() {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return
	}
	s.stopped = true
	s.q, s.bytes = nil, 0
	close(s.wake) // handle sends only under s.mu while not stopped
	s.mu.Unlock()
	_ = s.b.srv.Unsubscribe(s.filter, s.id)
	s.b.subsMu.Lock()
	delete(s.b.subs, s)
	s.b.subsMu.Unlock()
}

func (b *Broker) count(f func(*DeliveryStats)) {
	b.subsMu.Lock()
	f(&b.delivery)
	b.subsMu.Unlock()
}

// closeSubs ends every subscription and waits for their goroutines (Close).
func (b *Broker) closeSubs() {
	b.subsMu.Lock()
	subs := make([]*inlineSub, 0, len(b.subs))
	for s := range b.subs {
		subs = append(subs, s)
	}
	b.subsMu.Unlock()
	for _, s := range subs {
		s.stop()
	}
	b.subsWG.Wait()
}

// ClientInfo describes one client known to the broker.
type ClientInfo struct {
	ID            string
	Listener      string // ListenerTCP, ListenerTLS, ListenerMemory or ListenerMemoryTLS
	Remote        string // the remote address, e.g. "127.0.0.1:50412" ("memory" for DialMemory)
	Username      string
	Connected     bool // false for a persistent session kept after its client went away
	Subscriptions int  // topic filters subscribed
}

// Clients lists the clients the broker knows (connected ones, and disconnected clients whose
// persistent session it keeps), sorted by ID, without the inline client of Publish and
// Subscribe. It is a snapshot. Safe from any goroutine.
func (b *Broker) Clients() []ClientInfo {
	all := b.srv.Clients.GetAll()
	out := make([]ClientInfo, 0, len(all))
	for _, cl := range all {
		if cl.Net.Inline {
			continue
		}
		out = append(out, ClientInfo{ID: cl.ID, Listener: cl.Net.Listener, Remote: cl.Net.Remote,
			Username: string(cl.Properties.Username), Connected: !cl.Closed(),
			Subscriptions: cl.State.Subscriptions.Len()})
	}
	slices.SortFunc(out, func(a, c ClientInfo) int { return strings.Compare(a.ID, c.ID) })
	return out
}
