package mqttcore_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/devicejs/devicejs/broker"
	"github.com/devicejs/devicejs/internal/pki"
	"github.com/devicejs/devicejs/internal/testbroker"
	"github.com/devicejs/devicejs/mqttcore"
)

// connectFails connects with o and expects one "error 1" with errnoConnect want.
func connectFails(t *testing.T, h *mqttcore.Host, url string, o mqttcore.Options, ts mqttcore.TLSSettings, want mqttcore.Errno) {
	t.Helper()
	r := newRecorder()
	s, err := h.Connect(url, o, ts, r.events())
	if err != nil {
		t.Fatal(err)
	}
	r.expect(t, "error 1")
	if got := s.ErrnoConnect(); got != want {
		t.Errorf("errnoConnect %d, want %d", got, want)
	}
	if s.IsConnected() || s.IsReconnecting() || s.CanPublish() {
		t.Error("state flags set after a failed connect")
	}
	endAndWait(t, s)
	r.expect(t, "end")
	r.quiet(t, 20*time.Millisecond)
}

func TestConnectArgumentErrors(t *testing.T) {
	h := newHost(mqttcore.Limits{})
	o := mqttcore.DefaultOptions()
	if _, err := h.Connect("http://x", o, mqttcore.TLSSettings{}, mqttcore.Events{}); !errors.Is(err, mqttcore.IllegalArgument) {
		t.Fatalf("bad url: %v", err)
	}
	o.ReconnectCount = 1000
	if _, err := h.Connect("mqtt://x", o, mqttcore.TLSSettings{}, mqttcore.Events{}); !errors.Is(err, mqttcore.IllegalArgument) {
		t.Fatalf("bad option: %v", err)
	}
	if h.SessionsHeld() != 0 {
		t.Fatal("a refused Connect holds a resource")
	}
}

func TestConnectRefusedPort(t *testing.T) {
	connectFails(t, newHost(mqttcore.Limits{}), "mqtt://"+testbroker.DeadAddr(t), fastOptions(), mqttcore.TLSSettings{}, mqttcore.ErrnoConnectionFailed)
}

func TestConnectTimeoutSilentListener(t *testing.T) {
	o := fastOptions()
	o.ConnectTimeout = 5 * time.Second // 50 ms of wall time on the fast clock
	connectFails(t, newHost(mqttcore.Limits{}), "mqtt://"+testbroker.Fake(t, testbroker.Discard).Addr(), o, mqttcore.TLSSettings{}, mqttcore.ErrnoConnectionFailed)
}

func TestConnectWrongPasswordMochi(t *testing.T) {
	b := startMochi(t, map[string]string{"dev": "secret"})
	h := newHost(mqttcore.Limits{})
	o := fastOptions()
	o.Username, o.Password = strp("dev"), strp("wrong")
	// mochi answers a bad password on MQTT 3.1.1 with CONNACK 5 (not authorized); the
	// return code passes through unchanged.
	connectFails(t, h, b.URL(), o, mqttcore.TLSSettings{}, mqttcore.ErrnoNotAuthorized)
	o.Password = strp("secret")
	r := newRecorder()
	s := connected(t, h, b.URL(), o, r)
	endAndWait(t, s)
}

func TestConnackRefusalCodes(t *testing.T) {
	for rc := byte(1); rc <= 5; rc++ {
		t.Run(fmt.Sprint(rc), func(t *testing.T) {
			f := testbroker.Fake(t, testbroker.Accept(rc, nil))
			connectFails(t, newHost(mqttcore.Limits{}), f.URL(), fastOptions(), mqttcore.TLSSettings{}, mqttcore.Errno(rc))
		})
	}
}

// tlsEnv is a CA, a mochi TLS broker and a host whose Dial routes every address to it.
type tlsEnv struct {
	ca   *pki.CA
	b    *testbroker.Broker
	h    *mqttcore.Host
	url  string
	good mqttcore.TLSSettings
}

func newTLSEnv(t *testing.T, serverHost string, requireClient bool, self bool) *tlsEnv {
	t.Helper()
	ca := pki.Must(pki.NewCA("devicejs test CA"))
	var srv *pki.Cert
	if self {
		srv = pki.Must(pki.SelfSigned(serverHost))
	} else {
		srv = pki.Must(ca.IssueServer(serverHost))
	}
	tc := &tls.Config{Certificates: []tls.Certificate{srv.TLSCertificate()}, MinVersion: tls.VersionTLS12}
	if requireClient {
		pool := x509.NewCertPool()
		pool.AddCert(ca.Cert.Cert)
		tc.ClientCAs = pool
		tc.ClientAuth = tls.RequireAndVerifyClientCert
	}
	b := testbroker.Mochi(t, testbroker.WithConfig(broker.Config{TLSAddr: "127.0.0.1:0", TLS: tc}))
	e := &tlsEnv{ca: ca, b: b, url: "mqtts://broker.test:8883"}
	e.h = mqttcore.NewHost(mqttcore.HostConfig{
		Clock: fastClock{scale: 100},
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, b.TLSAddr())
		},
	})
	e.good = mqttcore.TLSSettings{CA: string(ca.CertPEM)}
	if self {
		e.good = mqttcore.TLSSettings{CA: string(srv.CertPEM)}
	}
	return e
}

func TestConnectTLS(t *testing.T) {
	t.Run("ok", func(t *testing.T) {
		e := newTLSEnv(t, "broker.test", false, false)
		r := newRecorder()
		s, err := e.h.Connect(e.url, fastOptions(), e.good, r.events())
		if err != nil {
			t.Fatal(err)
		}
		r.expect(t, "connect")
		endAndWait(t, s)
	})
	t.Run("wrong CA", func(t *testing.T) {
		e := newTLSEnv(t, "broker.test", false, false)
		other := pki.Must(pki.NewCA("other CA"))
		connectFails(t, e.h, e.url, fastOptions(), mqttcore.TLSSettings{CA: string(other.CertPEM)}, mqttcore.ErrnoTLS)
	})
	t.Run("self-signed", func(t *testing.T) {
		e := newTLSEnv(t, "broker.test", false, true)
		connectFails(t, e.h, e.url, fastOptions(), e.good, mqttcore.ErrnoTLS)
	})
	t.Run("hostname mismatch", func(t *testing.T) {
		e := newTLSEnv(t, "other.test", false, false)
		connectFails(t, e.h, e.url, fastOptions(), e.good, mqttcore.ErrnoTLS)
	})
	t.Run("invalid CA PEM", func(t *testing.T) {
		e := newTLSEnv(t, "broker.test", false, false)
		connectFails(t, e.h, e.url, fastOptions(), mqttcore.TLSSettings{CA: "garbage"}, mqttcore.ErrnoTLS)
	})
	t.Run("missing client cert", func(t *testing.T) {
		e := newTLSEnv(t, "broker.test", true, false)
		connectFails(t, e.h, e.url, fastOptions(), e.good, mqttcore.ErrnoTLS)
	})
	t.Run("client cert", func(t *testing.T) {
		e := newTLSEnv(t, "broker.test", true, false)
		cl := pki.Must(e.ca.IssueClient("device01"))
		ts := e.good
		ts.Cert, ts.Key = string(cl.CertPEM), string(cl.KeyPEM)
		r := newRecorder()
		s, err := e.h.Connect(e.url, fastOptions(), ts, r.events())
		if err != nil {
			t.Fatal(err)
		}
		r.expect(t, "connect")
		endAndWait(t, s)
	})
	t.Run("plain broker", func(t *testing.T) {
		b := startMochi(t, nil)
		connectFails(t, newHost(mqttcore.Limits{}), "mqtts://"+b.Addr(), fastOptions(), mqttcore.TLSSettings{}, mqttcore.ErrnoTLS)
	})
}

func TestSessionResourceLimitAndAsyncRelease(t *testing.T) {
	b := startMochi(t, nil)
	h := newHost(mqttcore.Limits{})
	r := newRecorder()
	s := connected(t, h, b.URL(), fastOptions(), r)
	if _, err := h.Connect(b.URL(), fastOptions(), mqttcore.TLSSettings{}, mqttcore.Events{}); !errors.Is(err, mqttcore.ErrNoResource) {
		t.Fatalf("second session: %v", err)
	}
	rel := make(chan struct{})
	s.End(func() { close(rel) })
	r.expect(t, "end")
	<-rel
	if h.SessionsHeld() != 0 {
		t.Fatal("resource still held after released")
	}
	s2 := connected(t, h, b.URL(), fastOptions(), r)
	endAndWait(t, s2)
	r.expect(t, "end")
	// A second End is harmless and still reports the release.
	endAndWait(t, s2)
	r.quiet(t, 20*time.Millisecond)
}
