package reliability

import (
	"testing"
	"time"

	"github.com/devicejs/devicejs/mqttcore"
)

// deadLinkBound is how long after a link goes silent a session must report `close`, for a
// wire keepalive k of at most 10 s (docs/device-semantics.md, "Keepalive and dead links"):
// paho checks every k/4, sends PINGREQ once nothing was received for k (so by k + k/4), and
// gives up pingTimeout = max(k, 1 s) after the PINGREQ (noticed on the next check, + k/4):
// k + pingTimeout + k/2.
func deadLinkBound(k time.Duration) time.Duration {
	return k + max(k, time.Second) + k/2
}

// TestHalfOpenLink (issue 6 item 4): a link that stops forwarding both ways while its sockets
// stay open is detected by the keepalive within deadLinkBound, with and without a publish in
// flight (the publish completes with 11), never waiting for TCP's retransmission timeout.
func TestHalfOpenLink(t *testing.T) {
	const k = time.Second
	bound := deadLinkBound(k)
	forEachBroker(t, func(t *testing.T, bk brokerKind) {
		b := bk.start(t)
		for _, inFlight := range []bool{false, true} {
			name := "idle"
			if inFlight {
				name = "publish in flight"
			}
			t.Run(name, func(t *testing.T) {
				px := newProxy(t, b.Addr())
				o := deviceOptions()
				o.KeepAlive = k
				o.ReconnectCount = 0
				d := startDevice(t, "mqtt://"+px.Addr(), o, mqttcore.HostConfig{}, mqttcore.TLSSettings{})
				d.waitEvent("connect", wait)
				px.Blackhole(true)
				start := time.Now()
				done := make(chan mqttcore.Code, 1)
				if inFlight {
					if err := d.s.Publish("rel/halfopen", make([]byte, 2000), mqttcore.PublishOptions{QoS: 1}, func(c mqttcore.Code) { done <- c }); err != nil {
						t.Fatal(err)
					}
				}
				d.waitEvent("close", bound+10*time.Second)
				el := time.Since(start)
				if inFlight {
					select {
					case c := <-done:
						if c != mqttcore.Disconnected {
							t.Fatalf("publish on the dead link completed with %v, want 11", c)
						}
					case <-time.After(wait):
						t.Fatal("publish on the dead link never completed")
					}
				}
				// Generous for -race on a shared machine: one extra second.
				if el > bound+time.Second {
					t.Fatalf("close after %v, bound %v (+1 s slack)", el, bound)
				}
				figure(t, "half-open", bk.name, "%s, keepalive %v: close after %v (bound k + max(k,1s) + k/2 = %v)", name, k, el.Round(10*time.Millisecond), bound)
				px.Blackhole(false)
			})
		}
	})
}
