package reliability

import (
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/devicejs/devicejs/internal/faultproxy"
	"github.com/devicejs/devicejs/internal/leakcheck"
	"github.com/devicejs/devicejs/internal/testbroker"
	"github.com/devicejs/devicejs/mqttcore"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

// wait bounds every single wait of the suite.
const wait = 15 * time.Second

// brokerKind is one of the two brokers every network scenario runs against.
type brokerKind struct {
	name  string
	start func(t testing.TB, opts ...testbroker.Option) *testbroker.Broker
}

var brokers = []brokerKind{
	{"mosquitto", testbroker.Mosquitto},
	{"mochi", testbroker.Mochi},
}

// forEachBroker runs f as a subtest per broker.
func forEachBroker(t *testing.T, f func(t *testing.T, bk brokerKind)) {
	for _, bk := range brokers {
		t.Run(bk.name, func(t *testing.T) { f(t, bk) })
	}
}

// newProxy starts a fault proxy to target, closed at the end of the test.
func newProxy(t testing.TB, target string) *faultproxy.Proxy {
	t.Helper()
	p, err := faultproxy.New(target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// device is a mqttcore session under test with its events recorded.
type device struct {
	t    testing.TB
	host *mqttcore.Host
	s    *mqttcore.Session
	ev   chan string // "connect", "close", "reconnect", "error <code>", "end"
	rec  *flightRecorder

	connects, closes, reconnects, errs atomic.Int64
}

// deviceOptions are fast defaults for the suite: reconnect forever every 50 ms of device time.
func deviceOptions() mqttcore.Options {
	o := mqttcore.DefaultOptions()
	o.ReconnectCount = mqttcore.ReconnectForever
	o.ReconnectPeriod = 50 * time.Millisecond
	o.ConnectTimeout = 5 * time.Second
	return o
}

// startDevice connects a session to url. It is ended at the end of the test.
func startDevice(t testing.TB, url string, o mqttcore.Options, hc mqttcore.HostConfig, ts mqttcore.TLSSettings) *device {
	t.Helper()
	d := &device{t: t, ev: make(chan string, 100000)}
	d.rec = newFlightRecorder(hc.Trace)
	hc.Trace = d.rec.record
	d.host = mqttcore.NewHost(hc)
	send := func(e string) {
		select {
		case d.ev <- e:
		default:
		}
	}
	s, err := d.host.Connect(url, o, ts, mqttcore.Events{
		Connect:   func(mqttcore.Connack) { d.connects.Add(1); send("connect") },
		Close:     func() { d.closes.Add(1); send("close") },
		Reconnect: func() { d.reconnects.Add(1); send("reconnect") },
		Error:     func(c mqttcore.Code) { d.errs.Add(1); send(fmt.Sprintf("error %d", int(c))) },
		End:       func() { send("end") },
	})
	if err != nil {
		t.Fatal(err)
	}
	d.s = s
	t.Cleanup(func() { d.end() })
	t.Cleanup(func() {
		d.rec.logIfFailed(t, func() string {
			return fmt.Sprintf("connected=%v reconnecting=%v canPublish=%v errno=%d stats=%+v",
				s.IsConnected(), s.IsReconnecting(), s.CanPublish(), s.ErrnoConnect(), s.Stats())
		})
	})
	return d
}

// waitEvent skips events until want arrives, failing the test after timeout.
func (d *device) waitEvent(want string, timeout time.Duration) {
	d.t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case e := <-d.ev:
			if e == want {
				return
			}
		case <-deadline:
			d.t.Fatalf("no %q event within %v", want, timeout)
		}
	}
}

// end ends the session and waits (bounded) for its resource to be released.
func (d *device) end() {
	rel := make(chan struct{})
	d.s.End(func() { close(rel) })
	select {
	case <-rel:
	case <-time.After(wait):
		d.t.Errorf("session not released within %v after End", wait)
	}
}

// publish publishes and waits for the completion. A refusal returns its code with
// accepted false.
func (d *device) publish(topic string, payload []byte, qos byte) (code mqttcore.Code, accepted bool) {
	d.t.Helper()
	done := make(chan mqttcore.Code, 1)
	if err := d.s.Publish(topic, payload, mqttcore.PublishOptions{QoS: qos}, func(c mqttcore.Code) { done <- c }); err != nil {
		c, _ := err.(mqttcore.Code)
		return c, false
	}
	select {
	case c := <-done:
		return c, true
	case <-time.After(wait):
		d.t.Fatalf("publish to %s: no completion within %v", topic, wait)
		return 0, true
	}
}

// peer is an independent paho subscriber counting the payloads it receives.
type peer struct {
	t      testing.TB
	addr   string
	filter string
	qos    byte

	mu     sync.Mutex
	seen   map[string]int
	client paho.Client
}

func newPeer(t testing.TB, addr, filter string, qos byte) *peer {
	p := &peer{t: t, addr: addr, filter: filter, qos: qos, seen: map[string]int{}}
	p.subscribe()
	return p
}

var peerSeq atomic.Int64

// subscribe (re)connects the peer and subscribes; it returns once the SUBACK arrived.
func (p *peer) subscribe() {
	p.t.Helper()
	o := paho.NewClientOptions().AddBroker("tcp://" + p.addr).
		SetClientID("rel-peer-" + strconv.FormatInt(peerSeq.Add(1), 10)).
		SetAutoReconnect(false).SetCleanSession(true).SetOrderMatters(false).
		SetConnectTimeout(wait)
	c := paho.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(wait) || tok.Error() != nil {
		p.t.Fatalf("peer connect: %v", tok.Error())
	}
	tok := c.Subscribe(p.filter, p.qos, func(_ paho.Client, m paho.Message) {
		p.mu.Lock()
		p.seen[string(m.Payload())]++
		p.mu.Unlock()
	})
	if !tok.WaitTimeout(wait) || tok.Error() != nil {
		p.t.Fatalf("peer subscribe: %v", tok.Error())
	}
	p.mu.Lock()
	old := p.client
	p.client = c
	p.mu.Unlock()
	if old != nil {
		old.Disconnect(0)
	} else {
		p.t.Cleanup(func() {
			p.mu.Lock()
			c := p.client
			p.mu.Unlock()
			c.Disconnect(0)
		})
	}
}

// count returns how many times payload was received.
func (p *peer) count(payload string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.seen[payload]
}

// figure logs a measured figure in a greppable form: "FIGURE <scenario> <broker>: <text>".
func figure(t testing.TB, scenario, broker, format string, args ...any) {
	t.Helper()
	t.Logf("FIGURE %s %s: %s", scenario, broker, fmt.Sprintf(format, args...))
}
