package link

import (
	"context"
	"net"
	"net/url"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/devicejs/devicejs/internal/testbroker"
)

// brokers runs f against mochi in process and against a mosquitto process.
func brokers(t *testing.T, f func(t *testing.T, b *testbroker.Broker)) {
	t.Run("mochi", func(t *testing.T) { f(t, testbroker.Mochi(t)) })
	t.Run("mosquitto", func(t *testing.T) { f(t, testbroker.Mosquitto(t)) })
}

// deviceEvents counts a device client's connection events.
type deviceEvents struct {
	connects, losses atomic.Int32
	lost             chan struct{}
	connected        chan struct{}
}

// connectThrough connects a paho client (the device) to b through l; keepalive 0 means none.
func connectThrough(t *testing.T, b *testbroker.Broker, l *Link, keepalive time.Duration, reconnect bool) (paho.Client, *deviceEvents) {
	t.Helper()
	ev := &deviceEvents{lost: make(chan struct{}, 8), connected: make(chan struct{}, 8)}
	dial := l.Dialer(nil)
	o := paho.NewClientOptions().AddBroker(b.URL()).SetClientID("link-device").
		SetCleanSession(true).SetProtocolVersion(4).SetConnectTimeout(testbroker.Wait).
		SetAutoReconnect(reconnect).SetConnectRetry(false).
		SetMaxReconnectInterval(200 * time.Millisecond).
		SetKeepAlive(keepalive).SetPingTimeout(time.Second).
		SetCustomOpenConnectionFn(func(u *url.URL, _ paho.ClientOptions) (net.Conn, error) {
			ctx, cancel := context.WithTimeout(context.Background(), testbroker.Wait)
			defer cancel()
			return dial(ctx, "tcp", u.Host)
		}).
		SetOnConnectHandler(func(paho.Client) {
			ev.connects.Add(1)
			ev.connected <- struct{}{}
		}).
		SetConnectionLostHandler(func(paho.Client, error) {
			ev.losses.Add(1)
			ev.lost <- struct{}{}
		})
	c := paho.NewClient(o)
	tok := c.Connect()
	if !tok.WaitTimeout(2*testbroker.Wait) || tok.Error() != nil {
		t.Fatalf("connect through the link: %v", tok.Error())
	}
	<-ev.connected
	t.Cleanup(func() { c.Disconnect(100) })
	return c, ev
}

// TestMQTTLatencyOnTheWire publishes timestamped messages from a device behind a 100 ms link:
// an observer outside the link gets each one at least 100 ms after it was published, and the
// device gets its own message back after at least 200 ms (up and down the link).
func TestMQTTLatencyOnTheWire(t *testing.T) {
	const latency = 100 * time.Millisecond
	brokers(t, func(t *testing.T, b *testbroker.Broker) {
		observer := testbroker.Subscribe(t, b.Addr(), "lat/#", testbroker.WithClientID("observer"))
		l := New(Conditions{Latency: latency}, nil, 1)
		device, _ := connectThrough(t, b, l, 0, false)
		back := make(chan time.Time, 16)
		if tok := device.Subscribe("lat/#", 0, func(_ paho.Client, m paho.Message) { back <- time.Now() }); !tok.WaitTimeout(testbroker.Wait) || tok.Error() != nil {
			t.Fatalf("subscribe: %v", tok.Error())
		}
		for i := 0; i < 3; i++ {
			sent := time.Now()
			device.Publish("lat/"+strconv.Itoa(i), 0, false, strconv.FormatInt(sent.UnixNano(), 10))
			m := testbroker.Next(t, observer)
			ns, err := strconv.ParseInt(string(m.Payload), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			if oneWay := time.Since(time.Unix(0, ns)); oneWay < latency || oneWay > latency+slack {
				t.Fatalf("observer got message %d after %v, want >= %v", i, oneWay, latency)
			}
			select {
			case at := <-back:
				if rtt := at.Sub(sent); rtt < 2*latency || rtt > 2*latency+slack {
					t.Fatalf("round trip %v, want >= %v", rtt, 2*latency)
				}
			case <-time.After(testbroker.Wait):
				t.Fatal("own message not received back")
			}
		}
	})
}

// TestMQTTOutageHoldsDelivery: a message published during a 500 ms outage reaches the
// observer when the outage ends, on the same connection.
func TestMQTTOutageHoldsDelivery(t *testing.T) {
	const outage = 500 * time.Millisecond
	brokers(t, func(t *testing.T, b *testbroker.Broker) {
		observer := testbroker.Subscribe(t, b.Addr(), "out/#", testbroker.WithClientID("observer"))
		l := New(Conditions{}, nil, 1)
		device, ev := connectThrough(t, b, l, 0, false)
		start := time.Now()
		l.Outage(outage)
		device.Publish("out/1", 1, false, "held")
		testbroker.Next(t, observer)
		if d := time.Since(start); d < outage || d > outage+slack {
			t.Fatalf("delivered %v after the outage began, want >= %v", d, outage)
		}
		if ev.losses.Load() != 0 {
			t.Fatal("the connection did not survive the outage")
		}
	})
}

// TestMQTTBlackholeEndsByKeepalive: under a blackhole nothing closes the connection; the
// client's keepalive (1 s, ping timeout 1 s) finds it dead.
func TestMQTTBlackholeEndsByKeepalive(t *testing.T) {
	brokers(t, func(t *testing.T, b *testbroker.Broker) {
		l := New(Conditions{}, nil, 1)
		_, ev := connectThrough(t, b, l, time.Second, false)
		start := time.Now()
		l.Blackhole(true)
		defer l.Blackhole(false)
		testbroker.Receive(t, ev.lost, 15*time.Second, "connection loss under blackhole")
		if d := time.Since(start); d < time.Second {
			t.Fatalf("lost after %v: before the keepalive could notice", d)
		}
	})
}

// TestMQTTCutReconnects: Cut resets the connection; the client sees the loss and reconnects
// through the link.
func TestMQTTCutReconnects(t *testing.T) {
	brokers(t, func(t *testing.T, b *testbroker.Broker) {
		l := New(Conditions{Latency: 20 * time.Millisecond}, nil, 1)
		_, ev := connectThrough(t, b, l, 0, true)
		l.Cut()
		testbroker.Receive(t, ev.lost, testbroker.Wait, "connection loss after Cut")
		testbroker.Receive(t, ev.connected, 2*testbroker.Wait, "reconnect after Cut")
		if s := l.Stats(); s.Conns != 2 {
			t.Fatalf("link carried %d connections, want 2", s.Conns)
		}
	})
}

// TestMQTTBandwidthOnTheWire publishes a 60 kB payload through a 100 kB/s link: the observer
// gets it no sooner than the link can carry it.
func TestMQTTBandwidthOnTheWire(t *testing.T) {
	const rate, size = 100_000, 60_000
	brokers(t, func(t *testing.T, b *testbroker.Broker) {
		observer := testbroker.Subscribe(t, b.Addr(), "bw", testbroker.WithClientID("observer"))
		l := New(Conditions{Bandwidth: rate}, nil, 1)
		device, _ := connectThrough(t, b, l, 0, false)
		start := time.Now()
		device.Publish("bw", 0, false, make([]byte, size))
		m := testbroker.Next(t, observer)
		elapsed := time.Since(start)
		measured := float64(len(m.Payload)) / elapsed.Seconds()
		t.Logf("%d-byte payload in %v: %.0f B/s through a %d B/s link", len(m.Payload), elapsed, measured, rate)
		if len(m.Payload) != size || measured > rate*1.05 || measured < rate*0.3 {
			t.Fatalf("%d bytes at %.0f B/s, want %d bytes at about %d B/s", len(m.Payload), measured, size, rate)
		}
	})
}

// TestMQTTLossOnTheWire publishes QoS 0 messages one at a time from a device behind a 20%-loss
// link; an observer outside it timestamps each one. The messages that took a retransmission
// timeout (>= RTO/2 late) are as many as the segments the link reports lost meanwhile.
func TestMQTTLossOnTheWire(t *testing.T) {
	const n = 30
	brokers(t, func(t *testing.T, b *testbroker.Broker) {
		observer := testbroker.Subscribe(t, b.Addr(), "loss/#", testbroker.WithClientID("observer"))
		l := New(Conditions{Loss: 0.2}, nil, 5)
		device, _ := connectThrough(t, b, l, 0, false)
		rto := l.Conditions().RTO()
		before := l.Stats().Up
		delayed := 0
		for i := 0; i < n; i++ {
			sent := time.Now()
			device.Publish("loss/"+strconv.Itoa(i), 0, false, "m")
			m := testbroker.Next(t, observer)
			if m.Topic != "loss/"+strconv.Itoa(i) {
				t.Fatalf("got %s, want loss/%d: order lost", m.Topic, i)
			}
			if time.Since(sent) >= rto/2 {
				delayed++
			}
		}
		lost := l.Stats().Up.LostSegments - before.LostSegments
		t.Logf("%d of %d messages delayed by a retransmission; the link lost %d segments", delayed, n, lost)
		if d := delayed - int(lost); d < -1 || d > 1 {
			t.Fatalf("%d messages delayed on the wire, the link lost %d segments", delayed, lost)
		}
		if lost == 0 {
			t.Fatal("no loss at 20% over 30 segments (seed 5 loses some)")
		}
	})
}
