package devtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"syscall"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/devicejs/devicejs/broker"
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
}

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
	b, err := broker.New(broker.Config{Users: map[string]string{}, ACL: e.acl})
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

// authenticate admits everyone when no users are set, else the listed user with its password.
func (e *embeddedBroker) authenticate(user, pass string, hasUser bool) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.users == nil {
		return true
	}
	want, ok := e.users[user]
	return ok && hasUser && want == pass
}

func (e *embeddedBroker) acl(user, clientID, topic string, write bool) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, r := range e.denies {
		if r.write == write && topicMatch(r.filter, topic) {
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

// tapHook records what clients publish and checks logins against the test's users.
type tapHook struct {
	mqtt.HookBase
	e *embeddedBroker
}

func (h *tapHook) ID() string { return "devtest-tap" }

func (h *tapHook) Provides(b byte) bool {
	switch b {
	case mqtt.OnConnectAuthenticate, mqtt.OnPublish, mqtt.OnPacketRead, mqtt.OnPacketSent:
		return true
	}
	return false
}

func (h *tapHook) OnConnectAuthenticate(cl *mqtt.Client, pk packets.Packet) bool {
	return h.e.authenticate(string(pk.Connect.Username), string(pk.Connect.Password), pk.Connect.UsernameFlag)
}

func (h *tapHook) OnPacketRead(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	h.e.w.activity.Add(1)
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

// refusingConn answers the first CONNECT with CONNACK return code rc and closes.
func refusingConn(rc byte) net.Conn {
	client, server := net.Pipe()
	go func() {
		defer server.Close()
		if err := readPacket(server); err != nil {
			return
		}
		_, _ = server.Write([]byte{0x20, 0x02, 0x00, rc})
		_, _ = io.Copy(io.Discard, server)
	}()
	return client
}

// readPacket reads one MQTT packet (fixed header, remaining length, body).
func readPacket(r io.Reader) error {
	var h [1]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return err
	}
	n, mult := 0, 1
	for i := 0; i < 4; i++ {
		if _, err := io.ReadFull(r, h[:]); err != nil {
			return err
		}
		n += int(h[0]&0x7f) * mult
		if h[0]&0x80 == 0 {
			_, err := io.CopyN(io.Discard, r, int64(n))
			return err
		}
		mult *= 128
	}
	return fmt.Errorf("malformed remaining length")
}
