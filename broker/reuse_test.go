package broker_test

import (
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/devicejs/devicejs/broker"
	"github.com/devicejs/devicejs/internal/testbroker"
)

// TestClientIDReuseAfterDisconnect reconnects with the same client id right
// after a clean disconnect. Plain mochi can let the old connection's late
// cleanup delete the new client from its client table (Clients.Delete by
// id), after which nothing is delivered to it; the broker package waits for
// the old connection's cleanup before admitting the new one.
func TestClientIDReuseAfterDisconnect(t *testing.T) {
	b := testbroker.MochiConfig(t, broker.Config{})
	pub := mustConnect(t, "reuse-pub", "tcp://memory", withDial(b.DialMemory, nil))
	for i := range 30 {
		o := paho.NewClientOptions().AddBroker("tcp://memory").SetClientID("same").SetAutoReconnect(false)
		withDial(b.DialMemory, nil)(o)
		c := paho.NewClient(o)
		if tok := c.Connect(); !tok.WaitTimeout(wait) || tok.Error() != nil {
			t.Fatalf("round %d: connect: %v", i, tok.Error())
		}
		got := make(chan struct{}, 1)
		if tok := c.Subscribe("reuse", 1, func(paho.Client, paho.Message) {
			select {
			case got <- struct{}{}:
			default:
			}
		}); !tok.WaitTimeout(wait) || tok.Error() != nil {
			t.Fatalf("round %d: subscribe: %v", i, tok.Error())
		}
		if tok := pub.Publish("reuse", 1, false, "x"); !tok.WaitTimeout(wait) || tok.Error() != nil {
			t.Fatalf("round %d: publish: %v", i, tok.Error())
		}
		select {
		case <-got:
		case <-time.After(2 * time.Second):
			cl, inTable := b.Server().Clients.Get("same")
			subs := b.Server().Topics.Subscribers("reuse")
			_, subscribed := subs.Subscriptions["same"]
			closed := inTable && cl.Closed()
			c.Disconnect(0)
			t.Fatalf("round %d: the reconnected client got nothing (in client table %v, closed %v, subscribed %v)", i, inTable, closed, subscribed)
		}
		c.Disconnect(0)
	}
}

// TestPersistentSessionSurvivesGuard checks that a clean=false session is
// still inherited: messages published while the client was away arrive.
func TestPersistentSessionSurvivesGuard(t *testing.T) {
	b := testbroker.MochiConfig(t, broker.Config{})
	got := make(chan string, 10)
	persistent := func(o *paho.ClientOptions) {
		o.SetCleanSession(false).SetResumeSubs(true)
		o.SetDefaultPublishHandler(func(_ paho.Client, m paho.Message) { got <- string(m.Payload()) })
	}
	c1 := mustConnect(t, "keep", "tcp://memory", withDial(b.DialMemory, nil), persistent)
	if tok := c1.Subscribe("offline", 1, nil); !tok.WaitTimeout(wait) || tok.Error() != nil {
		t.Fatal("subscribe", tok.Error())
	}
	c1.Disconnect(50)
	// "While away": the broker has seen the disconnection (paho's Disconnect returns before
	// mochi has processed it; a publish in between went to the closing connection).
	testbroker.WaitFor(t, wait, "the broker to see the first connection close", func() bool {
		cl, ok := b.Server().Clients.Get("keep")
		return ok && cl.Closed()
	})
	pub := mustConnect(t, "keep-pub", "tcp://memory", withDial(b.DialMemory, nil))
	if tok := pub.Publish("offline", 1, false, "while away"); !tok.WaitTimeout(wait) || tok.Error() != nil {
		t.Fatal("publish", tok.Error())
	}
	c2 := mustConnect(t, "keep", "tcp://memory", withDial(b.DialMemory, nil), persistent)
	_ = c2
	select {
	case m := <-got:
		if m != "while away" {
			t.Fatalf("got %q", m)
		}
	case <-time.After(wait):
		t.Fatal("queued message not delivered to the resumed session")
	}
}

// TestTakeover connects a second client with a live client's id: the first
// is disconnected and the second receives.
func TestTakeover(t *testing.T) {
	b := testbroker.MochiConfig(t, broker.Config{})
	lost := make(chan struct{})
	first := mustConnect(t, "twin", "tcp://memory", withDial(b.DialMemory, nil), func(o *paho.ClientOptions) {
		o.SetConnectionLostHandler(func(paho.Client, error) { close(lost) })
	})
	_ = first
	second := mustConnect(t, "twin", "tcp://memory", withDial(b.DialMemory, nil))
	select {
	case <-lost:
	case <-time.After(wait):
		t.Fatal("first client not disconnected by the takeover")
	}
	roundTrip(t, second, second, "twin/t", 3)
}
