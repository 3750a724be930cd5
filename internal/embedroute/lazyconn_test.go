package embedroute

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"testing"
	"time"

	"github.com/devicejs/devicejs/broker"
)

// mqttConnect is an MQTT 3.1.1 CONNECT with clientId "id"; mqttConnack the broker's acceptance.
var (
	mqttConnect = []byte{0x10, 14, 0, 4, 'M', 'Q', 'T', 'T', 4, 2, 0, 60, 0, 2, 'i', 'd'}
	mqttConnack = []byte{0x20, 2, 0, 0}
)

func handshake(t *testing.T, c net.Conn) {
	t.Helper()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write(mqttConnect); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 4)
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, mqttConnack) {
		t.Fatalf("CONNACK % x, want % x", got, mqttConnack)
	}
}

func newTestRoute(t *testing.T) *Route {
	t.Helper()
	b, err := broker.New(broker.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	r, err := New(b.DialMemory)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return r
}

func tracked(r *Route) int {
	r.front.mu.Lock()
	defer r.front.mu.Unlock()
	return len(r.front.conns)
}

// TestLazyPlainIsDirect checks that a plain MQTT connection goes straight to the broker (no
// forwarding goroutine), tracked until closed.
func TestLazyPlainIsDirect(t *testing.T) {
	r := newTestRoute(t)
	c, err := r.Dial(context.Background(), "tcp", "broker:1883")
	if err != nil {
		t.Fatal(err)
	}
	handshake(t, c)
	if !c.(*lazyConn).direct {
		t.Error("plain connection was forwarded, not direct")
	}
	if n := tracked(r); n != 1 {
		t.Errorf("%d tracked connections, want 1", n)
	}
	c.Close()
	if n := tracked(r); n != 0 {
		t.Errorf("%d tracked connections after Close, want 0", n)
	}
}

// TestLazyTLSIsForwarded checks that a connection starting with a TLS handshake goes through
// the terminator.
func TestLazyTLSIsForwarded(t *testing.T) {
	r := newTestRoute(t)
	raw, err := r.Dial(context.Background(), "tcp", "foo.bar:8883")
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM([]byte(r.TrustCA))
	c := tls.Client(raw, &tls.Config{ServerName: "foo.bar", RootCAs: pool, MinVersion: tls.VersionTLS12})
	defer c.Close()
	handshake(t, c)
	if raw.(*lazyConn).direct {
		t.Error("TLS connection went direct")
	}
}

// TestLazyUndecided checks reads, deadlines and Close before the first write, and a dial
// after the route closed.
func TestLazyUndecided(t *testing.T) {
	r := newTestRoute(t)
	c, err := r.Dial(context.Background(), "tcp", "x:1")
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Error("read before any write returned no error at its deadline")
	}
	c.SetReadDeadline(time.Time{})
	done := make(chan error, 1)
	go func() { _, err := c.Read(make([]byte, 1)); done <- err }()
	c.Close()
	select {
	case err := <-done:
		if err == nil {
			t.Error("read after Close returned no error")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("read not released by Close")
	}
	if _, err := c.Write(mqttConnect); err == nil {
		t.Error("write after Close succeeded")
	}
	late, err := r.Dial(context.Background(), "tcp", "x:1")
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	if _, err := late.Write(mqttConnect); err == nil {
		t.Error("first write after the route closed succeeded")
	}
}
