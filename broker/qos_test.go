package broker_test

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/devicejs/devicejs/broker"
	"github.com/devicejs/devicejs/internal/testbroker"
)

// TestMemoryQoSOrdered sends 1,000 messages at each QoS over memory
// connections and checks that QoS 1 and 2 arrive complete and in order.
func TestMemoryQoSOrdered(t *testing.T) {
	b := testbroker.MochiConfig(t, broker.Config{})
	for _, qos := range []byte{0, 1, 2} {
		t.Run(fmt.Sprintf("qos%d", qos), func(t *testing.T) {
			const n = 1000
			topic := fmt.Sprintf("order/%d", qos)
			o := func(o *paho.ClientOptions) { o.SetOrderMatters(true) }
			sub := mustConnect(t, "osub", "tcp://memory", withDial(b.DialMemory, nil), o)
			pub := mustConnect(t, "opub", "tcp://memory", withDial(b.DialMemory, nil))
			got := make(chan string, n)
			if tok := sub.Subscribe(topic, qos, func(_ paho.Client, m paho.Message) { got <- string(m.Payload()) }); !tok.WaitTimeout(wait) || tok.Error() != nil {
				t.Fatal("subscribe", tok.Error())
			}
			var last paho.Token
			for i := range n {
				last = pub.Publish(topic, qos, false, fmt.Sprint(i))
			}
			if !last.WaitTimeout(wait) || last.Error() != nil {
				t.Fatal("publish", last.Error())
			}
			timeout := time.After(wait)
			for i := range n {
				select {
				case m := <-got:
					if qos > 0 && m != fmt.Sprint(i) {
						t.Fatalf("message %d = %s (out of order)", i, m)
					}
				case <-timeout:
					if qos == 0 && i > n*9/10 {
						t.Logf("qos0: %d of %d arrived", i, n)
						return
					}
					t.Fatalf("got %d of %d", i, n)
				}
			}
			sub.Disconnect(50)
			pub.Disconnect(50)
		})
	}
}

// TestMemoryFleet connects 1,000 clients over memory connections.
func TestMemoryFleet(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	b := testbroker.MochiConfig(t, broker.Config{MaxPendingWrites: 32})
	const n = 1000
	clients := make([]paho.Client, 0, n)
	defer func() {
		for _, c := range clients {
			c.Disconnect(0)
		}
	}()
	toks := make([]paho.Token, 0, n)
	for i := range n {
		o := paho.NewClientOptions().AddBroker("tcp://memory").SetClientID(fmt.Sprintf("fleet-%d", i)).SetAutoReconnect(false).SetConnectTimeout(30 * time.Second)
		withDial(b.DialMemory, nil)(o)
		c := paho.NewClient(o)
		clients = append(clients, c)
		toks = append(toks, c.Connect())
	}
	for i, tok := range toks {
		if !tok.WaitTimeout(30*time.Second) || tok.Error() != nil {
			t.Fatalf("client %d: %v", i, tok.Error())
		}
	}
	if got := atomic.LoadInt64(&b.Server().Info.ClientsConnected); got < n {
		t.Fatalf("ClientsConnected = %d", got)
	}
}

// TestPendingWritesOverflowDrops documents a mochi behaviour: a subscriber
// that does not read fills its outbound queue, and mochi then drops its
// messages, QoS 1 included, instead of applying back-pressure.
func TestPendingWritesOverflowDrops(t *testing.T) {
	b := testbroker.MochiConfig(t, broker.Config{MaxPendingWrites: 1})
	block := make(chan struct{})
	defer close(block)
	sub := mustConnect(t, "stuck", "tcp://memory", withDial(b.DialMemory, nil), func(o *paho.ClientOptions) { o.SetOrderMatters(true) })
	if tok := sub.Subscribe("flood", 1, func(paho.Client, paho.Message) { <-block }); !tok.WaitTimeout(wait) || tok.Error() != nil {
		t.Fatal("subscribe", tok.Error())
	}
	pub := mustConnect(t, "flooder", "tcp://memory", withDial(b.DialMemory, nil))
	payload := make([]byte, 1024)
	deadline := time.Now().Add(wait)
	for atomic.LoadInt64(&b.Server().Info.MessagesDropped) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no message dropped")
		}
		var last paho.Token
		for range 100 {
			last = pub.Publish("flood", 1, false, payload)
		}
		last.WaitTimeout(wait)
	}
}
