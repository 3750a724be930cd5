package testbroker

import (
	"crypto/tls"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/devicejs/devicejs/internal/pki"
)

// Msg is a message received by Subscribe.
type Msg struct {
	Topic    string
	Payload  []byte
	QoS      byte
	Retained bool
}

// ClientOption configures the client helpers (Connect, Subscribe, Publish,
// SubProcess, Pub).
type ClientOption func(*clientConfig)

type clientConfig struct {
	user, pass *string
	ca         *pki.CA
	cert       *pki.Cert
	tls        bool
	qos        byte
	id         string
}

// WithCredentials sends a username and password.
func WithCredentials(user, password string) ClientOption {
	return func(c *clientConfig) { c.user, c.pass = &user, &password }
}

// WithClientTLS connects with TLS, trusting ca (nil = the system roots) and
// presenting cert when it is not nil. addr must then be a TLS listener.
func WithClientTLS(ca *pki.CA, cert *pki.Cert) ClientOption {
	return func(c *clientConfig) { c.tls, c.ca, c.cert = true, ca, cert }
}

// WithQoS sets the QoS of Subscribe and SubProcess (default 0).
func WithQoS(qos byte) ClientOption { return func(c *clientConfig) { c.qos = qos } }

// WithClientID sets the client id (default: a unique "testbroker-N").
func WithClientID(id string) ClientOption { return func(c *clientConfig) { c.id = id } }

var clientSeq atomic.Int64

func buildClient(opts []ClientOption) clientConfig {
	var c clientConfig
	for _, o := range opts {
		o(&c)
	}
	if c.id == "" {
		c.id = fmt.Sprintf("testbroker-%d-%d", os.Getpid(), clientSeq.Add(1))
	}
	return c
}

func (c clientConfig) tlsConfig() *tls.Config {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if c.ca != nil {
		tc.RootCAs = c.ca.Pool()
	}
	if c.cert != nil {
		tc.Certificates = []tls.Certificate{c.cert.TLSCertificate()}
	}
	return tc
}

// files writes the CA and client certificate for mosquitto_sub/pub.
func (c clientConfig) files(t testing.TB) (caFile, certFile, keyFile string) {
	t.Helper()
	dir := t.TempDir()
	var err error
	if c.ca != nil {
		if caFile, _, err = c.ca.WriteFiles(dir, "ca"); err != nil {
			t.Fatal(err)
		}
	}
	if c.cert != nil {
		if certFile, keyFile, err = c.cert.WriteFiles(dir, "client"); err != nil {
			t.Fatal(err)
		}
	}
	return caFile, certFile, keyFile
}

// ConnectErr connects a paho client (MQTT 3.1.1, clean session, no
// automatic reconnect) to addr ("host:port") and returns the connect error.
// A connected client is disconnected at the end of the test.
func ConnectErr(t testing.TB, addr string, opts ...ClientOption) (paho.Client, error) {
	t.Helper()
	c := buildClient(opts)
	scheme := "tcp://"
	o := paho.NewClientOptions().SetClientID(c.id).SetAutoReconnect(false).
		SetConnectTimeout(Wait).SetCleanSession(true).SetProtocolVersion(4)
	if c.tls {
		scheme = "ssl://"
		o.SetTLSConfig(c.tlsConfig())
	}
	o.AddBroker(scheme + addr)
	if c.user != nil {
		o.SetUsername(*c.user).SetPassword(*c.pass)
	}
	cl := paho.NewClient(o)
	tok := cl.Connect()
	if !tok.WaitTimeout(Wait + Wait/2) {
		return nil, fmt.Errorf("testbroker: connect to %s: timeout", addr)
	}
	if err := tok.Error(); err != nil {
		return nil, err
	}
	t.Cleanup(func() { cl.Disconnect(100) })
	return cl, nil
}

// Connect is ConnectErr that fails the test on error.
func Connect(t testing.TB, addr string, opts ...ClientOption) paho.Client {
	t.Helper()
	cl, err := ConnectErr(t, addr, opts...)
	if err != nil {
		t.Fatalf("testbroker: connect %s: %v", addr, err)
	}
	return cl
}

// Subscribe connects a paho client to addr, subscribes to filter (QoS from
// WithQoS) and returns once the broker acknowledged the subscription. The
// channel receives the messages; it holds up to 10,000 and drops the rest.
// It is never closed.
func Subscribe(t testing.TB, addr, filter string, opts ...ClientOption) <-chan Msg {
	t.Helper()
	c := buildClient(opts)
	cl := Connect(t, addr, opts...)
	ch := make(chan Msg, 10000)
	tok := cl.Subscribe(filter, c.qos, func(_ paho.Client, m paho.Message) {
		msg := Msg{Topic: m.Topic(), Payload: append([]byte(nil), m.Payload()...), QoS: m.Qos(), Retained: m.Retained()}
		select {
		case ch <- msg:
		default:
		}
	})
	if !tok.WaitTimeout(Wait) {
		t.Fatalf("testbroker: subscribe %q: timeout", filter)
	}
	if err := tok.Error(); err != nil {
		t.Fatalf("testbroker: subscribe %q: %v", filter, err)
	}
	return ch
}

// Publish connects a paho client to addr, publishes one message, waits for
// its completion (PUBACK/PUBCOMP for QoS 1/2) and disconnects.
func Publish(t testing.TB, addr, topic string, payload []byte, qos byte, retain bool, opts ...ClientOption) {
	t.Helper()
	cl := Connect(t, addr, opts...)
	defer cl.Disconnect(100)
	tok := cl.Publish(topic, qos, retain, payload)
	if !tok.WaitTimeout(Wait) {
		t.Fatalf("testbroker: publish %q: timeout", topic)
	}
	if err := tok.Error(); err != nil {
		t.Fatalf("testbroker: publish %q: %v", topic, err)
	}
}

// Next returns the next message from ch, failing the test after Wait.
func Next(t testing.TB, ch <-chan Msg) Msg {
	t.Helper()
	select {
	case m := <-ch:
		return m
	case <-time.After(Wait):
		t.Fatal("testbroker: no message within", Wait)
		return Msg{}
	}
}
