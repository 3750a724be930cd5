package testbroker

import (
	"io"
	"net"
	"sync"
	"testing"
)

// FakeBroker is a scripted raw-MQTT peer on a loopback port (see Fake).
type FakeBroker struct {
	addr    string
	mu      sync.Mutex
	conns   []net.Conn
	stopped bool // the test ended: a connection accepted now is closed at once
}

// Fake starts a scripted MQTT peer on 127.0.0.1 for tests of what a client does when a
// broker misbehaves (malformed, hostile or missing replies): each accepted connection is
// handed to serve on its own goroutine. serve reads the CONNECT itself (or use Accept,
// OnConnect, Answer.Serve); a connection stays open when serve returns, until the client
// closes it, CloseConns, or the end of the test, which closes the listener and every
// connection and waits for the serve goroutines. A serve that blocks must return once its
// connection is closed.
func Fake(t testing.TB, serve func(c net.Conn)) *FakeBroker {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &FakeBroker{addr: l.Addr().String()}
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
			if f.stopped {
				_ = c.Close()
			}
			f.mu.Unlock()
			wg.Add(1)
			go func() { defer wg.Done(); serve(c) }()
		}
	}()
	t.Cleanup(func() {
		f.mu.Lock()
		f.stopped = true
		f.mu.Unlock()
		_ = l.Close()
		f.CloseConns()
		wg.Wait()
	})
	return f
}

// Addr returns the fake's address, "127.0.0.1:PORT".
func (f *FakeBroker) Addr() string { return f.addr }

// URL returns "mqtt://" + Addr().
func (f *FakeBroker) URL() string { return "mqtt://" + f.addr }

// CloseConns closes every connection accepted so far (the listener stays open).
func (f *FakeBroker) CloseConns() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.conns {
		_ = c.Close()
	}
	f.conns = nil
}

// Discard is a Fake serve function that reads and discards everything and never answers:
// a peer that accepts TCP and stays silent.
func Discard(c net.Conn) { _, _ = io.Copy(io.Discard, c) }

// OnConnect returns a Fake serve function that reads the client's first packet (CONNECT),
// then runs script (which writes what the broker answers, CONNACK included), then reads and
// discards until the connection closes.
func OnConnect(script func(c net.Conn)) func(net.Conn) {
	return func(c net.Conn) {
		if _, _, err := ReadPacket(c); err != nil {
			return
		}
		script(c)
		Discard(c)
	}
}

// Accept returns a Fake serve function that answers the CONNECT with a CONNACK of return code
// rc, then hands the connection to after, or, with a nil after, reads and discards everything
// (a broker that never answers again, PINGREQ included).
func Accept(rc byte, after func(c net.Conn)) func(net.Conn) {
	return func(c net.Conn) {
		if _, _, err := ReadPacket(c); err != nil {
			return
		}
		if _, err := c.Write([]byte{0x20, 0x02, 0x00, rc}); err != nil {
			return
		}
		if after == nil {
			Discard(c)
			return
		}
		after(c)
	}
}

// DeadAddr returns a loopback address where nothing listened a moment ago (a refused
// connection).
func DeadAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := l.Addr().String()
	_ = l.Close()
	return a
}
