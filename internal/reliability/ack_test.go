package reliability

import (
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/devicejs/devicejs/internal/faultproxy"
	"github.com/devicejs/devicejs/internal/testbroker"
	"github.com/devicejs/devicejs/mqttcore"
)

// packetLog records the packets a proxy sees.
type packetLog struct {
	mu  sync.Mutex
	pks []faultproxy.Packet
}

func watchPackets(px *faultproxy.Proxy) *packetLog {
	l := &packetLog{}
	px.Watch(func(pk faultproxy.Packet) {
		l.mu.Lock()
		l.pks = append(l.pks, pk)
		l.mu.Unlock()
	})
	return l
}

// find returns the first packet of type typ in dir, and whether there is one.
func (l *packetLog) find(dir faultproxy.Direction, typ byte) (faultproxy.Packet, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, pk := range l.pks {
		if pk.Dir == dir && pk.Type == typ {
			return pk, true
		}
	}
	return faultproxy.Packet{}, false
}

// TestHonestAcknowledgement (issue 6 item 2): a publish's callback reports 0 only after the
// real acknowledgement reached the device. A link cut between the PUBLISH and its
// acknowledgement completes the publish with 11 (Disconnected) even though the broker has the
// message: the script learns that delivery is unknown, never that it failed silently.
//
// Resending with DUP across connections does not apply: sessions are clean (MQTT 3.1.1
// clean session 1), so the broker discards the old session's state and the device never
// resends on a new connection (docs/device-semantics.md); a script that resends sets `dup`,
// and that flag is checked on the wire here.
func TestHonestAcknowledgement(t *testing.T) {
	cuts := []struct {
		name string
		qos  byte
		typ  byte // the broker's packet cut before it reaches the device
	}{
		{"qos1 PUBACK", 1, faultproxy.PUBACK},
		{"qos2 PUBREC", 2, faultproxy.PUBREC},
		{"qos2 PUBCOMP", 2, faultproxy.PUBCOMP},
	}
	forEachBroker(t, func(t *testing.T, bk brokerKind) {
		b := bk.start(t)
		pr := newPeer(t, b.Addr(), "rel/ack/#", 2)
		for _, tc := range cuts {
			t.Run("cut before "+tc.name, func(t *testing.T) {
				px := newProxy(t, b.Addr())
				px.AddRule(faultproxy.Rule{Dir: faultproxy.BrokerToClient, Type: tc.typ, Cut: faultproxy.Before})
				o := deviceOptions()
				o.ReconnectCount = 0
				d := startDevice(t, "mqtt://"+px.Addr(), o, mqttcore.HostConfig{}, mqttcore.TLSSettings{})
				d.waitEvent("connect", wait)
				payload := "cut-" + strconv.Itoa(int(tc.typ))
				code, acc := d.publish("rel/ack/"+payload, []byte(payload), tc.qos)
				if !acc || code != mqttcore.Disconnected {
					t.Fatalf("publish with its %s cut: code %v accepted %v, want 11", tc.name, code, acc)
				}
				d.waitEvent("close", wait)
				// The broker did get the message (it sent the acknowledgement). mosquitto passes a
				// QoS 2 message on only at PUBREL, which a cut PUBREC prevents; mochi at PUBLISH.
				if tc.typ == faultproxy.PUBREC {
					time.Sleep(100 * time.Millisecond)
					figure(t, "honest-ack", bk.name, "qos 2 with PUBREC cut: code 11, peer got it %d times", pr.count(payload))
					return
				}
				testbroker.WaitFor(t, wait, "the peer to get "+payload, func() bool { return pr.count(payload) > 0 })
			})
		}
		t.Run("callback after the delayed ack", func(t *testing.T) {
			px := newProxy(t, b.Addr())
			pl := watchPackets(px)
			d := startDevice(t, "mqtt://"+px.Addr(), deviceOptions(), mqttcore.HostConfig{}, mqttcore.TLSSettings{})
			d.waitEvent("connect", wait)
			const delay = 300 * time.Millisecond
			for _, qos := range []byte{1, 2} {
				px.SetDelay(delay)
				ack := faultproxy.PUBACK
				if qos == 2 {
					ack = faultproxy.PUBCOMP
				}
				code, _ := d.publish("rel/ack/delay", []byte("d"), qos)
				done := time.Now()
				px.SetDelay(0)
				pk, ok := pl.find(faultproxy.BrokerToClient, ack)
				if code != 0 || !ok {
					t.Fatalf("qos %d: code %v, ack seen %v", qos, code, ok)
				}
				// The ack reached the proxy at pk.At and was held there for delay.
				if early := pk.At.Add(delay).Sub(done); early > 0 {
					t.Fatalf("qos %d: callback fired %v before the %s was forwarded", qos, early, faultproxy.TypeName(ack))
				}
				figure(t, "honest-ack", bk.name, "qos %d callback %v after the %s left the broker (held %v)", qos, done.Sub(pk.At).Round(time.Millisecond), faultproxy.TypeName(ack), delay)
				pl.mu.Lock()
				pl.pks = nil
				pl.mu.Unlock()
			}
		})
		t.Run("dup on the wire", func(t *testing.T) {
			px := newProxy(t, b.Addr())
			pl := watchPackets(px)
			d := startDevice(t, "mqtt://"+px.Addr(), deviceOptions(), mqttcore.HostConfig{}, mqttcore.TLSSettings{})
			d.waitEvent("connect", wait)
			for _, tc := range []struct {
				qos     byte
				dup     bool
				wantDup bool
			}{{0, true, false}, {1, true, true}, {2, true, true}, {1, false, false}} {
				pl.mu.Lock()
				pl.pks = nil
				pl.mu.Unlock()
				done := make(chan mqttcore.Code, 1)
				if err := d.s.Publish("rel/ack/dup", []byte("x"), mqttcore.PublishOptions{QoS: tc.qos, Dup: tc.dup}, func(c mqttcore.Code) { done <- c }); err != nil {
					t.Fatal(err)
				}
				if c := <-done; c != 0 {
					t.Fatalf("qos %d dup %v: code %v", tc.qos, tc.dup, c)
				}
				// A QoS 0 PUBLISH completes when written, so it may reach the proxy late: wait
				// for the one with this QoS.
				var pk faultproxy.Packet
				testbroker.WaitFor(t, wait, "the PUBLISH at the proxy", func() bool {
					pl.mu.Lock()
					defer pl.mu.Unlock()
					for _, p := range pl.pks {
						if p.Dir == faultproxy.ClientToBroker && p.Type == faultproxy.PUBLISH && (p.Header>>1)&3 == tc.qos {
							pk = p
							return true
						}
					}
					return false
				})
				if got := pk.Header&0x08 != 0; got != tc.wantDup {
					t.Fatalf("qos %d dup %v: DUP on the wire %v, want %v", tc.qos, tc.dup, got, tc.wantDup)
				}
			}
		})
	})
}
