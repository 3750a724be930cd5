// Package testbroker is the tests' one test-broker kit: every broker, fake
// peer and wait a devicejs test needs, so that no package keeps its own.
//
//   - Mochi starts the embedded mochi broker (package broker, in process) on
//     127.0.0.1. Options: WithTLS (a TLS listener from a test CA), WithUser
//     (authentication), WithConfig (a whole broker.Config: the listener
//     kinds, memory only included, a user table, an ACL, PEM certificates,
//     queue bounds) and WithHook (a mochi hook: record disconnections, delay
//     publishes). MochiConfig(t, c) is the *broker.Broker of Mochi(t,
//     WithConfig(c)). Restart keeps the ports.
//   - Mosquitto starts Debian's mosquitto binary with WithTLS and WithUser.
//   - Fake is a scripted raw-MQTT peer for malformed, hostile or missing
//     replies: each connection goes to a serve function (Accept, OnConnect,
//     Discard, an Answer's Serve, or the test's own); Scripted and
//     HostileShapes are the hostile-broker table built on it. DeadAddr is an
//     address where nothing listens.
//   - Independent peers to observe and drive a broker: paho clients (Connect,
//     Subscribe, Publish) and mosquitto-clients processes (SubProcess, Pub).
//   - Eventually, WaitFor and Receive wait (bounded) for what another
//     goroutine makes true, instead of a sleep.
//
// Every helper takes a testing.TB, fails the test on error, bounds its waits
// and registers its cleanup with t.Cleanup. Brokers listen on 127.0.0.1 only.
package testbroker

import (
	"crypto/tls"
	"fmt"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"

	"github.com/devicejs/devicejs/broker"
	"github.com/devicejs/devicejs/internal/pki"
)

// Wait bounds every wait in this package (broker start, connect, subscribe,
// process exit).
const Wait = 10 * time.Second

// Option configures a broker started by Mochi or Mosquitto.
type Option func(*config)

type config struct {
	tls   *TLS
	users map[string]string
	base  *broker.Config // WithConfig (Mochi only)
	hooks []mqtt.Hook    // WithHook (Mochi only)
}

// TLS configures a broker's additional TLS listener (see Broker.TLSAddr).
type TLS struct {
	// CA issues the server certificate (when Cert is nil) and verifies
	// client certificates; nil = a new CA.
	CA *pki.CA
	// Cert is the server certificate; nil = issued by CA for "127.0.0.1"
	// and "localhost".
	Cert *pki.Cert
	// RequireClientCert refuses clients without a certificate issued by CA.
	RequireClientCert bool
	// Version pins the TLS version: "tlsv1.2" or "tlsv1.3" (mosquitto's
	// tls_version names); "" = the broker's default.
	Version string
}

// WithTLS adds a TLS listener.
func WithTLS(t TLS) Option {
	return func(c *config) { c.tls = &t }
}

// WithUser requires username/password authentication and adds one user.
// Anonymous clients are refused once any user is added.
func WithUser(user, password string) Option {
	return func(c *config) {
		if c.users == nil {
			c.users = map[string]string{}
		}
		c.users[user] = password
	}
}

func buildConfig(t testing.TB, opts []Option) config {
	t.Helper()
	var c config
	for _, o := range opts {
		o(&c)
	}
	if c.tls != nil {
		tc := *c.tls
		var err error
		if tc.CA == nil {
			if tc.CA, err = pki.NewCA("testbroker CA"); err != nil {
				t.Fatal(err)
			}
		}
		if tc.Cert == nil {
			if tc.Cert, err = tc.CA.IssueServer("127.0.0.1", "localhost"); err != nil {
				t.Fatal(err)
			}
		}
		switch tc.Version {
		case "", "tlsv1.2", "tlsv1.3":
		default:
			t.Fatalf("testbroker: unknown TLS version %q", tc.Version)
		}
		c.tls = &tc
	}
	return c
}

// Broker is a running test broker. Its methods are safe for concurrent use
// (Stop, Kill and Restart may be called from a helper goroutine, e.g. to
// kill the broker mid-session), but those that fail the test must follow
// testing's rule and run on the test's goroutine when they fail.
type Broker struct {
	mu      sync.Mutex
	t       testing.TB
	cfg     config
	addr    string
	tlsAddr string
	stopped bool

	mochi *mochiState
	mosq  *mosqState
}

// Addr returns the plain MQTT listener's address, "127.0.0.1:PORT".
func (b *Broker) Addr() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.addr
}

// URL returns "mqtt://" + Addr().
func (b *Broker) URL() string { return "mqtt://" + b.Addr() }

// TLSAddr returns the TLS listener's address, or "" without WithTLS.
func (b *Broker) TLSAddr() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.tlsAddr
}

// TLSURL returns "mqtts://" + TLSAddr(), or "" without WithTLS.
func (b *Broker) TLSURL() string {
	a := b.TLSAddr()
	if a == "" {
		return ""
	}
	return "mqtts://" + a
}

// Port returns the plain listener's port.
func (b *Broker) Port() int { return portOf(b.Addr()) }

// CA returns the CA of the TLS listener, or nil without WithTLS.
func (b *Broker) CA() *pki.CA {
	if b.cfg.tls == nil {
		return nil
	}
	return b.cfg.tls.CA
}

// ServerCert returns the TLS listener's certificate, or nil without WithTLS.
func (b *Broker) ServerCert() *pki.Cert {
	if b.cfg.tls == nil {
		return nil
	}
	return b.cfg.tls.Cert
}

// ClientCert issues a client certificate from the broker's CA.
func (b *Broker) ClientCert(cn string) *pki.Cert {
	b.t.Helper()
	if b.cfg.tls == nil {
		b.t.Fatal("testbroker: ClientCert without WithTLS")
	}
	c, err := b.cfg.tls.CA.IssueClient(cn)
	if err != nil {
		b.t.Fatal(err)
	}
	return c
}

// ClientTLS returns WithClientTLS(b.CA(), cert) for the helpers of this
// package; cert may be nil.
func (b *Broker) ClientTLS(cert *pki.Cert) ClientOption {
	return WithClientTLS(b.CA(), cert)
}

// Stop stops the broker (mochi: Close; mosquitto: SIGTERM, then SIGKILL
// after Wait). Clients see their connection close. Idempotent.
func (b *Broker) Stop() {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	b.stopLocked()
}

func (b *Broker) stopLocked() {
	if b.stopped {
		return
	}
	b.stopped = true
	if b.mochi != nil {
		b.mochi.stop()
	} else {
		b.mosq.stop(b.t, false)
	}
}

// Kill stops the broker abruptly (mosquitto: SIGKILL; mochi: same as Stop,
// since closing the in-process listeners is already abrupt for MQTT 3.1.1
// clients, which get no DISCONNECT). Idempotent.
func (b *Broker) Kill() {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.stopped {
		return
	}
	b.stopped = true
	if b.mochi != nil {
		b.mochi.stop()
	} else {
		b.mosq.stop(b.t, true)
	}
}

// Restart stops the broker if it is running and starts it again on the same
// ports. Sessions, subscriptions and retained messages are lost (neither
// broker persists them here).
func (b *Broker) Restart() {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	b.stopLocked()
	if b.mochi != nil {
		b.startMochi()
	} else {
		b.startMosquitto()
	}
	b.stopped = false
}

// Running reports whether the broker is started (not stopped or killed).
func (b *Broker) Running() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return !b.stopped
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("testbroker: free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func portOf(addr string) int {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(p)
	return n
}

// waitListening dials addr until it accepts a connection, alive reports
// false, or Wait passes.
func waitListening(addr string, alive func() bool) error {
	deadline := time.Now().Add(Wait)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		if !alive() {
			return fmt.Errorf("broker exited before listening on %s", addr)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("nothing listening on %s after %v: %w", addr, Wait, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func serverTLSConfig(tc *TLS) *tls.Config {
	conf := &tls.Config{Certificates: []tls.Certificate{tc.Cert.TLSCertificate()}, MinVersion: tls.VersionTLS12}
	conf.ClientCAs = tc.CA.Pool()
	conf.ClientAuth = tls.VerifyClientCertIfGiven
	if tc.RequireClientCert {
		conf.ClientAuth = tls.RequireAndVerifyClientCert
	}
	switch tc.Version {
	case "tlsv1.2":
		conf.MaxVersion = tls.VersionTLS12
	case "tlsv1.3":
		conf.MinVersion = tls.VersionTLS13
	}
	return conf
}
