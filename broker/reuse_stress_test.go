package broker_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/devicejs/devicejs/broker"
	"github.com/devicejs/devicejs/internal/testbroker"
)

// TestClientIDReuseStress reconnects 20 ids 10 times each, concurrently.
func TestClientIDReuseStress(t *testing.T) {
	b := testbroker.MochiConfig(t, broker.Config{})
	pub := mustConnect(t, "reuse-pub", "tcp://memory", withDial(b.DialMemory, nil))
	var wg sync.WaitGroup
	var mu sync.Mutex
	fails := 0
	for g := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprintf("same-%d", g)
			topic := "reuse/" + id
			for range 10 {
				o := paho.NewClientOptions().AddBroker("tcp://memory").SetClientID(id).SetAutoReconnect(false)
				withDial(b.DialMemory, nil)(o)
				c := paho.NewClient(o)
				if tok := c.Connect(); !tok.WaitTimeout(wait) || tok.Error() != nil {
					continue
				}
				got := make(chan struct{}, 1)
				if tok := c.Subscribe(topic, 1, func(paho.Client, paho.Message) {
					select {
					case got <- struct{}{}:
					default:
					}
				}); !tok.WaitTimeout(wait) || tok.Error() != nil {
					c.Disconnect(0)
					continue
				}
				pub.Publish(topic, 1, false, "x").WaitTimeout(wait)
				select {
				case <-got:
				case <-time.After(3 * time.Second):
					cl, inTable := b.Server().Clients.Get(id)
					_, subscribed := b.Server().Topics.Subscribers(topic).Subscriptions[id]
					t.Logf("%s: lost (in client table %v, closed %v, subscribed %v)", id, inTable, inTable && cl.Closed(), subscribed)
					mu.Lock()
					fails++
					mu.Unlock()
				}
				c.Disconnect(0)
			}
		}()
	}
	wg.Wait()
	if fails > 0 {
		t.Fatalf("%d reconnected clients got nothing", fails)
	}
}
