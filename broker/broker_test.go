package broker_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"go.uber.org/goleak"

	"github.com/devicejs/devicejs/broker"
	"github.com/devicejs/devicejs/internal/pki"
	"github.com/devicejs/devicejs/internal/testbroker"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const wait = 10 * time.Second

type clientOpt func(*paho.ClientOptions)

func withDial(dial func(ctx context.Context) (net.Conn, error), tc *tls.Config) clientOpt {
	return func(o *paho.ClientOptions) {
		o.SetCustomOpenConnectionFn(func(*url.URL, paho.ClientOptions) (net.Conn, error) {
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			c, err := dial(ctx)
			if err != nil || tc == nil {
				return c, err
			}
			tlsConn := tls.Client(c, tc)
			if err := tlsConn.HandshakeContext(ctx); err != nil {
				c.Close()
				return nil, err
			}
			return tlsConn, nil
		})
	}
}

func withAuth(user, pass string) clientOpt {
	return func(o *paho.ClientOptions) { o.SetUsername(user).SetPassword(pass) }
}

func withTLS(tc *tls.Config) clientOpt {
	return func(o *paho.ClientOptions) { o.SetTLSConfig(tc) }
}

// connect connects a paho client and returns it with the connect error.
func connect(t *testing.T, id, uri string, opts ...clientOpt) (paho.Client, error) {
	t.Helper()
	o := paho.NewClientOptions().AddBroker(uri).SetClientID(id).
		SetAutoReconnect(false).SetConnectTimeout(wait).SetOrderMatters(false)
	for _, f := range opts {
		f(o)
	}
	c := paho.NewClient(o)
	tok := c.Connect()
	if !tok.WaitTimeout(wait) {
		t.Fatalf("%s: connect timeout", id)
	}
	if tok.Error() != nil {
		return nil, tok.Error()
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return c, nil
}

func mustConnect(t *testing.T, id, uri string, opts ...clientOpt) paho.Client {
	t.Helper()
	c, err := connect(t, id, uri, opts...)
	if err != nil {
		t.Fatalf("%s: connect: %v", id, err)
	}
	return c
}

// roundTrip subscribes with sub, publishes n QoS 1 messages with pub and
// checks that all arrive.
func roundTrip(t *testing.T, sub, pub paho.Client, topic string, n int) {
	t.Helper()
	got := make(chan string, n)
	tok := sub.Subscribe(topic, 1, func(_ paho.Client, m paho.Message) {
		select {
		case got <- string(m.Payload()):
		default: // a test already over, or an overlapping subscription
		}
	})
	if !tok.WaitTimeout(wait) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	toks := make([]paho.Token, 0, n)
	for i := range n {
		toks = append(toks, pub.Publish(topic, 1, false, fmt.Sprintf("m%d", i)))
	}
	for i, tok := range toks {
		if !tok.WaitTimeout(wait) || tok.Error() != nil {
			t.Fatalf("publish %d: %v", i, tok.Error())
		}
	}
	seen := map[string]bool{}
	deadline := time.After(wait)
	for len(seen) < n {
		select {
		case m := <-got:
			seen[m] = true
		case <-deadline:
			t.Fatalf("received %d of %d messages", len(seen), n)
		}
	}
}

func TestTCPRoundTrip(t *testing.T) {
	b := testbroker.MochiConfig(t, broker.Config{TCPAddr: "127.0.0.1:0"})
	if b.Addr() == "" || b.Addr() == "127.0.0.1:0" {
		t.Fatalf("Addr = %q", b.Addr())
	}
	uri := "tcp://" + b.Addr()
	roundTrip(t, mustConnect(t, "sub", uri), mustConnect(t, "pub", uri), "a/b", 10)
}

func TestMemoryRoundTrip1000QoS1(t *testing.T) {
	b := testbroker.MochiConfig(t, broker.Config{})
	if b.Addr() != "" {
		t.Fatalf("Addr = %q without TCPAddr", b.Addr())
	}
	sub := mustConnect(t, "sub", "tcp://memory:1883", withDial(b.DialMemory, nil))
	pub := mustConnect(t, "pub", "tcp://memory:1883", withDial(b.DialMemory, nil))
	roundTrip(t, sub, pub, "fleet/1/x", 1000)
}

func TestMemoryManyClients(t *testing.T) {
	// The default MaxPendingWrites: with 64, a burst from 200 publishers can
	// overflow the subscriber's queue and mochi drops messages (see
	// TestPendingWritesOverflowDrops).
	b := testbroker.MochiConfig(t, broker.Config{})
	sub := mustConnect(t, "sub", "tcp://memory", withDial(b.DialMemory, nil))
	got := make(chan string, 200)
	if tok := sub.Subscribe("dev/+", 1, func(_ paho.Client, m paho.Message) { got <- m.Topic() }); !tok.WaitTimeout(wait) || tok.Error() != nil {
		t.Fatal("subscribe", tok.Error())
	}
	const n = 200
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o := paho.NewClientOptions().AddBroker("tcp://memory").SetClientID(fmt.Sprintf("dev%d", i)).SetAutoReconnect(false)
			withDial(b.DialMemory, nil)(o)
			c := paho.NewClient(o)
			if tok := c.Connect(); !tok.WaitTimeout(wait) || tok.Error() != nil {
				errs <- fmt.Errorf("dev%d connect: %v", i, tok.Error())
				return
			}
			defer c.Disconnect(50)
			if tok := c.Publish(fmt.Sprintf("dev/%d", i), 1, false, "hi"); !tok.WaitTimeout(wait) || tok.Error() != nil {
				errs <- fmt.Errorf("dev%d publish: %v", i, tok.Error())
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for i := 0; i < n; i++ {
		select {
		case <-got:
		case <-time.After(wait):
			t.Fatalf("got %d of %d", i, n)
		}
	}
}

func tlsSetup(t *testing.T) (ca *pki.CA, srv, cli *pki.Cert) {
	t.Helper()
	ca = pki.Must(pki.NewCA("broker test CA"))
	return ca, pki.Must(ca.IssueServer("localhost", "127.0.0.1")), pki.Must(ca.IssueClient("device"))
}

func TestTLSClientCertRequired(t *testing.T) {
	ca, srv, cli := tlsSetup(t)
	b := testbroker.MochiConfig(t, broker.Config{
		TLSAddr: "127.0.0.1:0", CertPEM: srv.CertPEM, KeyPEM: srv.KeyPEM,
		ClientCAPEM: ca.CertPEM, RequireClientCert: true,
	})
	uri := "ssl://" + b.TLSAddr()
	good := &tls.Config{RootCAs: ca.Pool(), Certificates: []tls.Certificate{cli.TLSCertificate()}, ServerName: "127.0.0.1"}
	noCert := &tls.Config{RootCAs: ca.Pool(), ServerName: "127.0.0.1"}

	c := mustConnect(t, "tls-good", uri, withTLS(good))
	roundTrip(t, c, c, "tls/t", 5)
	if _, err := connect(t, "tls-nocert", uri, withTLS(noCert)); err == nil {
		t.Fatal("client without certificate connected")
	}
	other := pki.Must(pki.NewCA("other"))
	if _, err := connect(t, "tls-wrongca", uri, withTLS(&tls.Config{RootCAs: other.Pool(), ServerName: "127.0.0.1"})); err == nil {
		t.Fatal("client trusting another CA connected")
	}

	// The same TLS configuration serves memory connections.
	m := mustConnect(t, "mem-tls", "tcp://memory", withDial(b.DialMemoryTLS, good))
	roundTrip(t, m, c, "tls/m", 5)
	if _, err := connect(t, "mem-tls-nocert", "tcp://memory", withDial(b.DialMemoryTLS, noCert)); err == nil {
		t.Fatal("memory TLS client without certificate connected")
	}
}

func TestUsers(t *testing.T) {
	b := testbroker.MochiConfig(t, broker.Config{TCPAddr: "127.0.0.1:0", Users: map[string]string{"alice": "s3cret:x"}})
	uri := "tcp://" + b.Addr()
	tt := []struct {
		name, user, pass string
		ok               bool
	}{
		{"right", "alice", "s3cret:x", true},
		{"wrong password", "alice", "nope", false},
		{"unknown user", "bob", "s3cret:x", false},
		{"anonymous", "", "", false},
	}
	for _, tc := range tt {
		t.Run(tc.name, func(t *testing.T) {
			var opts []clientOpt
			if tc.user != "" {
				opts = append(opts, withAuth(tc.user, tc.pass))
			}
			_, err := connect(t, "u-"+tc.user, uri, opts...)
			if (err == nil) != tc.ok {
				t.Fatalf("connect err = %v, want ok=%v", err, tc.ok)
			}
		})
	}
	// Memory connections are authenticated too.
	if _, err := connect(t, "mem-anon", "tcp://memory", withDial(b.DialMemory, nil)); err == nil {
		t.Fatal("anonymous memory client connected")
	}
}

func TestConfigErrors(t *testing.T) {
	_, srv, _ := tlsSetup(t)
	tt := []struct {
		name string
		c    broker.Config
	}{
		{"TLSAddr without cert", broker.Config{TLSAddr: "127.0.0.1:0"}},
		{"bad key", broker.Config{CertPEM: srv.CertPEM, KeyPEM: []byte("junk")}},
		{"require without CA", broker.Config{CertPEM: srv.CertPEM, KeyPEM: srv.KeyPEM, RequireClientCert: true}},
		{"CA without cert", broker.Config{ClientCAPEM: srv.CertPEM}},
		{"bad CA", broker.Config{CertPEM: srv.CertPEM, KeyPEM: srv.KeyPEM, ClientCAPEM: []byte("junk")}},
		{"negative pending", broker.Config{MaxPendingWrites: -1}},
	}
	for _, tc := range tt {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := broker.New(tc.c); err == nil {
				t.Fatal("New succeeded")
			}
		})
	}
}

func TestLifecycle(t *testing.T) {
	b, err := broker.New(broker.Config{TCPAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := b.DialMemory(ctx); !errors.Is(err, broker.ErrNotStarted) {
		t.Fatalf("DialMemory before Start: %v", err)
	}
	if _, err := b.DialMemoryTLS(ctx); !errors.Is(err, broker.ErrNoTLS) {
		t.Fatalf("DialMemoryTLS without TLS: %v", err)
	}
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	if err := b.Start(); err == nil {
		t.Fatal("second Start succeeded")
	}
	addr := b.Addr()
	c := mustConnect(t, "lc", "tcp://"+addr)
	lost := make(chan struct{})
	_ = c
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	close(lost)
	if err := b.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
	if _, err := b.DialMemory(ctx); !errors.Is(err, broker.ErrClosed) {
		t.Fatalf("DialMemory after Close: %v", err)
	}
	if err := b.Start(); !errors.Is(err, broker.ErrClosed) {
		t.Fatalf("Start after Close: %v", err)
	}
	if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		conn.Close()
		t.Fatal("TCP port still open after Close")
	}
	// The port is free again for a new broker.
	b2 := testbroker.MochiConfig(t, broker.Config{TCPAddr: addr})
	mustConnect(t, "lc2", "tcp://"+b2.Addr())
}

func TestCloseWithPendingConnection(t *testing.T) {
	b, err := broker.New(broker.Config{TCPAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	// Connections that never send CONNECT must not keep Close waiting.
	raw, err := net.Dial("tcp", b.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	mem, err := b.DialMemory(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	time.Sleep(50 * time.Millisecond) // let the broker accept them
	done := make(chan struct{})
	go func() { _ = b.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(wait):
		t.Fatal("Close hung")
	}
	_ = mem.SetReadDeadline(time.Now().Add(wait))
	if _, err := mem.Read(make([]byte, 1)); err == nil {
		t.Fatal("memory conn still open after Close")
	}
}

func TestDialMemoryContext(t *testing.T) {
	b := testbroker.MochiConfig(t, broker.Config{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	// A cancelled context may still win the race with the accept loop, so
	// only check that the call returns.
	if c, err := b.DialMemory(ctx); err == nil {
		c.Close()
	}
}

func TestLoadUsersFile(t *testing.T) {
	tt := []struct {
		name    string
		data    string
		want    map[string]string
		wantErr bool
	}{
		{"basic", "alice:pw1\nbob:pw:2\n", map[string]string{"alice": "pw1", "bob": "pw:2"}, false},
		{"comments and blanks", "# users\n\n  # indented\r\nalice:pw \r\n", map[string]string{"alice": "pw "}, false},
		{"spaces around user", "  carol :x y\n", map[string]string{"carol": "x y"}, false},
		{"empty password", "dave:\n", map[string]string{"dave": ""}, false},
		{"empty file", "", map[string]string{}, false},
		{"no colon", "alice\n", nil, true},
		{"empty user", ":pw\n", nil, true},
		{"duplicate", "a:1\na:2\n", nil, true},
	}
	for _, tc := range tt {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "users")
			if err := os.WriteFile(p, []byte(tc.data), 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := broker.LoadUsersFile(p)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if tc.wantErr {
				return
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
	if _, err := broker.LoadUsersFile(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Fatal("missing file: no error")
	}
}

// TestUserTable: Config.UserTable is read at each CONNECT, so the table can change while the
// broker runs; a nil table admits everyone; Users is ignored when UserTable is set.
func TestUserTable(t *testing.T) {
	var mu sync.Mutex
	var table map[string]string
	b := testbroker.MochiConfig(t, broker.Config{TCPAddr: "127.0.0.1:0", Users: map[string]string{"ignored": "x"},
		UserTable: func() map[string]string { mu.Lock(); defer mu.Unlock(); return table }})
	uri := "tcp://" + b.Addr()
	set := func(m map[string]string) { mu.Lock(); table = m; mu.Unlock() }
	for i, tc := range []struct {
		table      map[string]string
		user, pass string
		ok         bool
	}{
		{nil, "", "", true},
		{nil, "anyone", "anything", true},
		{map[string]string{}, "", "", false},
		{map[string]string{"alice": "pw"}, "alice", "pw", true},
		{map[string]string{"alice": "pw"}, "alice", "pW", false},
		{map[string]string{"alice": "pw"}, "ignored", "x", false},
		{map[string]string{"alice": "pw"}, "", "", false},
		{map[string]string{"alice": ""}, "alice", "", true},
	} {
		set(tc.table)
		var opts []clientOpt
		if tc.user != "" {
			opts = append(opts, withAuth(tc.user, tc.pass))
		}
		if _, err := connect(t, fmt.Sprintf("ut-%d", i), uri, opts...); (err == nil) != tc.ok {
			t.Errorf("%d: table %v, user %q: connect err = %v, want ok=%v", i, tc.table, tc.user, err, tc.ok)
		}
	}
}
