package conformance

import (
	"crypto/rand"
	"encoding/hex"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// peerWait bounds every step of a peer.
const peerWait = 10 * time.Second

// Creds are a peer's login; the zero value is anonymous.
type Creds struct{ User, Pass string }

// Msg is a message received by a peer.
type Msg struct {
	Topic   string
	Payload []byte
}

// peerConnect connects an independent paho client (MQTT 3.1.1, clean session, no automatic
// reconnect) to addr; it is disconnected at the end of the test.
func peerConnect(t T, addr string, c Creds) paho.Client {
	t.Helper()
	id := make([]byte, 6)
	_, _ = rand.Read(id)
	o := paho.NewClientOptions().SetClientID("conformance-peer-" + hex.EncodeToString(id)).
		SetAutoReconnect(false).SetConnectTimeout(peerWait).SetCleanSession(true).SetProtocolVersion(4)
	o.AddBroker("tcp://" + addr)
	if c.User != "" {
		o.SetUsername(c.User).SetPassword(c.Pass)
	}
	cl := paho.NewClient(o)
	tok := cl.Connect()
	if !tok.WaitTimeout(peerWait + peerWait/2) {
		t.Fatalf("peer: connect to %s: timeout", addr)
	}
	if err := tok.Error(); err != nil {
		t.Fatalf("peer: connect to %s: %v", addr, err)
	}
	t.Cleanup(func() { cl.Disconnect(100) })
	return cl
}

// peerSubscribe subscribes an independent client to filter (QoS 1) and returns once the broker
// acknowledged it. The channel holds up to 10,000 messages and drops the rest; it is never
// closed.
func peerSubscribe(t T, addr, filter string, c Creds) <-chan Msg {
	t.Helper()
	cl := peerConnect(t, addr, c)
	ch := make(chan Msg, 10000)
	tok := cl.Subscribe(filter, 1, func(_ paho.Client, m paho.Message) {
		select {
		case ch <- Msg{Topic: m.Topic(), Payload: append([]byte(nil), m.Payload()...)}:
		default:
		}
	})
	if !tok.WaitTimeout(peerWait) {
		t.Fatalf("peer: subscribe %q: timeout", filter)
	}
	if err := tok.Error(); err != nil {
		t.Fatalf("peer: subscribe %q: %v", filter, err)
	}
	return ch
}

// peerPublish publishes one QoS 1 message from an independent client and waits for its PUBACK.
func peerPublish(t T, addr, topic string, payload []byte, c Creds) {
	t.Helper()
	cl := peerConnect(t, addr, c)
	defer cl.Disconnect(100)
	tok := cl.Publish(topic, 1, false, payload)
	if !tok.WaitTimeout(peerWait) {
		t.Fatalf("peer: publish %q: timeout", topic)
	}
	if err := tok.Error(); err != nil {
		t.Fatalf("peer: publish %q: %v", topic, err)
	}
}
