package mqttcore_test

import (
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/devicejs/devicejs/internal/leakcheck"
	"github.com/devicejs/devicejs/internal/mqttwire"
	"github.com/devicejs/devicejs/mqttcore"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

// waitFor bounds every wait in these tests.
const waitFor = 10 * time.Second

// fastClock is device time running scale times faster than wall time.
type fastClock struct{ scale float64 }

func (c fastClock) Now() time.Time { return time.Now() }
func (c fastClock) AfterFunc(d time.Duration, f func()) func() bool {
	return time.AfterFunc(time.Duration(float64(d)/c.scale), f).Stop
}

// mochiBroker is an in-process mochi broker on a loopback port that can be stopped and
// restarted on the same port.
type mochiBroker struct {
	t     *testing.T
	tls   *tls.Config
	users map[string]string
	addr  string

	mu  sync.Mutex
	srv *mochi.Server
}

func startMochi(t *testing.T, tc *tls.Config, users map[string]string) *mochiBroker {
	t.Helper()
	b := &mochiBroker{t: t, tls: tc, users: users, addr: "127.0.0.1:0"}
	b.start()
	t.Cleanup(b.stop)
	return b
}

func (b *mochiBroker) start() {
	b.t.Helper()
	srv := mochi.New(&mochi.Options{InlineClient: true, Logger: slog.New(slog.DiscardHandler)})
	if err := srv.AddHook(&authHook{users: b.users}, nil); err != nil {
		b.t.Fatal(err)
	}
	var l *listeners.TCP
	var err error
	for range 50 { // the port of a restarted broker may linger briefly
		l = listeners.NewTCP(listeners.Config{ID: "tcp", Address: b.addr, TLSConfig: b.tls})
		if err = srv.AddListener(l); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		b.t.Fatal(err)
	}
	if err := srv.Serve(); err != nil {
		b.t.Fatal(err)
	}
	b.addr = l.Address()
	b.mu.Lock()
	b.srv = srv
	b.mu.Unlock()
}

func (b *mochiBroker) stop() {
	b.mu.Lock()
	srv := b.srv
	b.srv = nil
	b.mu.Unlock()
	if srv != nil {
		_ = srv.Close()
	}
}

func (b *mochiBroker) restart() { b.stop(); b.start() }

func (b *mochiBroker) url() string { return "mqtt://" + b.addr }

func (b *mochiBroker) server() *mochi.Server {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.srv
}

// publish injects a message from the broker side.
func (b *mochiBroker) publish(t *testing.T, topic string, payload []byte, retain bool, qos byte) {
	t.Helper()
	if err := b.server().Publish(topic, payload, retain, qos); err != nil {
		t.Fatal(err)
	}
}

// authHook allows everyone when users is nil, else only matching username/password.
type authHook struct {
	mochi.HookBase
	users map[string]string
}

func (h *authHook) ID() string { return "test-auth" }

func (h *authHook) Provides(b byte) bool {
	return b == mochi.OnConnectAuthenticate || b == mochi.OnACLCheck
}

func (h *authHook) OnConnectAuthenticate(cl *mochi.Client, pk packets.Packet) bool {
	if h.users == nil {
		return true
	}
	p, ok := h.users[string(pk.Connect.Username)]
	return ok && p == string(pk.Connect.Password)
}

func (h *authHook) OnACLCheck(*mochi.Client, string, bool) bool { return true }

// recorder turns session callbacks into a stream of strings.
type recorder struct {
	ch chan string
}

func newRecorder() *recorder { return &recorder{ch: make(chan string, 1000)} }

func (r *recorder) events() mqttcore.Events {
	return mqttcore.Events{
		Connect:   func(c mqttcore.Connack) { r.ch <- "connect" },
		Reconnect: func() { r.ch <- "reconnect" },
		Close:     func() { r.ch <- "close" },
		Error:     func(c mqttcore.Code) { r.ch <- fmt.Sprintf("error %d", c) },
		End:       func() { r.ch <- "end" },
		Message: func(topic string, p []byte, bin bool) {
			r.ch <- fmt.Sprintf("message %s %s %v", topic, p, bin)
		},
	}
}

// done returns a completion callback recording "NAME CODE".
func (r *recorder) done(name string) func(mqttcore.Code) {
	return func(c mqttcore.Code) { r.ch <- fmt.Sprintf("%s %d", name, int(c)) }
}

// expect waits for exactly the next events want, in order.
func (r *recorder) expect(t *testing.T, want ...string) {
	t.Helper()
	for i, w := range want {
		select {
		case got := <-r.ch:
			if got != w {
				t.Fatalf("event %d: got %q, want %q (all wanted: %q)", i, got, w, want)
			}
		case <-time.After(waitFor):
			t.Fatalf("event %d: timed out waiting for %q (all wanted: %q)", i, w, want)
		}
	}
}

// next returns the next event.
func (r *recorder) next(t *testing.T) string {
	t.Helper()
	select {
	case got := <-r.ch:
		return got
	case <-time.After(waitFor):
		t.Fatal("timed out waiting for an event")
		return ""
	}
}

// quiet checks that no event arrives within d.
func (r *recorder) quiet(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case got := <-r.ch:
		t.Fatalf("unexpected event %q", got)
	case <-time.After(d):
	}
}

// newHost returns a host with a fast clock (device time x100).
func newHost(lim mqttcore.Limits) *mqttcore.Host {
	return mqttcore.NewHost(mqttcore.HostConfig{Limits: lim, Clock: fastClock{scale: 100}})
}

// fastOptions are DefaultOptions with a short keepalive.
func fastOptions() mqttcore.Options {
	o := mqttcore.DefaultOptions()
	o.KeepAlive = 30 * time.Second
	return o
}

// endAndWait ends s and waits for the resource release.
func endAndWait(t *testing.T, s *mqttcore.Session) {
	t.Helper()
	rel := make(chan struct{})
	s.End(func() { close(rel) })
	select {
	case <-rel:
	case <-time.After(waitFor):
		t.Fatal("session resource not released")
	}
}

// connected starts a session and waits for its connect event.
func connected(t *testing.T, h *mqttcore.Host, url string, o mqttcore.Options, r *recorder) *mqttcore.Session {
	t.Helper()
	s, err := h.Connect(url, o, mqttcore.TLSSettings{}, r.events())
	if err != nil {
		t.Fatal(err)
	}
	r.expect(t, "connect")
	return s
}

// freePort returns a loopback address where nothing listens.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := l.Addr().String()
	_ = l.Close()
	return a
}

// silentListener accepts connections and never answers.
func silentListener(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() { defer wg.Done(); _, _ = io.Copy(io.Discard, c) }()
		}
	}()
	t.Cleanup(func() {
		_ = l.Close()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return l.Addr().String()
}

func strp(s string) *string { return &s }

var _ = strings.Repeat

// fakeBroker is a scripted MQTT peer: each accepted connection is handed to serve, which reads
// CONNECT itself. Connections and goroutines end with the test.
type fakeBroker struct {
	addr  string
	mu    sync.Mutex
	conns []net.Conn
}

func startFake(t *testing.T, serve func(c net.Conn)) *fakeBroker {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeBroker{addr: l.Addr().String()}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			f.mu.Lock()
			f.conns = append(f.conns, c)
			f.mu.Unlock()
			wg.Add(1)
			go func() { defer wg.Done(); serve(c) }()
		}
	}()
	t.Cleanup(func() {
		_ = l.Close()
		f.closeAll()
		wg.Wait()
	})
	return f
}

func (f *fakeBroker) url() string { return "mqtt://" + f.addr }

// closeAll drops every accepted connection.
func (f *fakeBroker) closeAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.conns {
		_ = c.Close()
	}
	f.conns = nil
}

// readPacket reads one MQTT packet: its first byte and body.
func readPacket(r io.Reader) (byte, []byte, error) {
	return mqttwire.ReadPacket(r, mqttwire.MaxRemainingLength)
}

// acceptWith answers CONNECT with CONNACK return code rc, then hands the connection to after
// (nil: read and ignore everything).
func acceptWith(rc byte, after func(c net.Conn)) func(c net.Conn) {
	return func(c net.Conn) {
		if _, _, err := readPacket(c); err != nil {
			return
		}
		if _, err := c.Write([]byte{0x20, 0x02, 0x00, rc}); err != nil {
			return
		}
		if after != nil {
			after(c)
			return
		}
		_, _ = io.Copy(io.Discard, c)
	}
}
