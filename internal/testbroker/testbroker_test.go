package testbroker_test

import (
	"fmt"
	"net"
	"slices"
	"testing"

	"go.uber.org/goleak"

	"github.com/devicejs/devicejs/internal/testbroker"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type starter func(t testing.TB, opts ...testbroker.Option) *testbroker.Broker

var brokers = []struct {
	name  string
	start starter
}{
	{"mochi", testbroker.Mochi},
	{"mosquitto", testbroker.Mosquitto},
}

func each(t *testing.T, f func(t *testing.T, start starter)) {
	for _, b := range brokers {
		t.Run(b.name, func(t *testing.T) { f(t, b.start) })
	}
}

func expect(t *testing.T, ch <-chan testbroker.Msg, topic, payload string) {
	t.Helper()
	m := testbroker.Next(t, ch)
	if m.Topic != topic || string(m.Payload) != payload {
		t.Fatalf("got %s %q, want %s %q", m.Topic, m.Payload, topic, payload)
	}
}

func TestPubSub(t *testing.T) {
	each(t, func(t *testing.T, start starter) {
		b := start(t)
		if ip, _, _ := net.SplitHostPort(b.Addr()); ip != "127.0.0.1" || b.Port() == 0 {
			t.Fatalf("Addr = %q", b.Addr())
		}
		if b.URL() != "mqtt://"+b.Addr() || b.TLSAddr() != "" || b.TLSURL() != "" || b.CA() != nil {
			t.Fatalf("URL %q TLSAddr %q TLSURL %q", b.URL(), b.TLSAddr(), b.TLSURL())
		}
		ch := testbroker.Subscribe(t, b.Addr(), "a/#", testbroker.WithQoS(1))
		testbroker.Publish(t, b.Addr(), "a/b", []byte("hello"), 1, false)
		expect(t, ch, "a/b", "hello")
		// QoS 1: the PUBACK means the broker has stored the retained message before the second
		// subscriber arrives (with QoS 0 that subscriber could get it live, retain flag clear).
		testbroker.Publish(t, b.Addr(), "a/r", []byte("kept"), 1, true)
		ch2 := testbroker.Subscribe(t, b.Addr(), "a/r")
		if m := testbroker.Next(t, ch2); !m.Retained || string(m.Payload) != "kept" {
			t.Fatalf("retained: %+v", m)
		}
	})
}

func TestRestartSamePort(t *testing.T) {
	each(t, func(t *testing.T, start starter) {
		b := start(t)
		addr := b.Addr()
		c := testbroker.Connect(t, addr)
		b.Stop()
		if b.Running() {
			t.Fatal("Running after Stop")
		}
		testbroker.WaitFor(t, testbroker.Wait, "the client to see the broker stop", func() bool { return !c.IsConnectionOpen() })
		if _, err := testbroker.ConnectErr(t, addr); err == nil {
			t.Fatal("connected to a stopped broker")
		}
		b.Restart()
		if b.Addr() != addr {
			t.Fatalf("Addr after Restart = %q, want %q", b.Addr(), addr)
		}
		ch := testbroker.Subscribe(t, addr, "x")
		testbroker.Publish(t, addr, "x", []byte("again"), 0, false)
		expect(t, ch, "x", "again")

		b.Kill()
		b.Restart()
		ch = testbroker.Subscribe(t, addr, "y")
		testbroker.Publish(t, addr, "y", []byte("after kill"), 1, false)
		expect(t, ch, "y", "after kill")
	})
}

func TestTLSClientCertRequired(t *testing.T) {
	for _, version := range []string{"", "tlsv1.2", "tlsv1.3"} {
		each(t, func(t *testing.T, start starter) {
			t.Run("version="+version, func(t *testing.T) {
				b := start(t, testbroker.WithTLS(testbroker.TLS{RequireClientCert: true, Version: version}))
				if b.TLSAddr() == "" || b.TLSAddr() == b.Addr() || b.CA() == nil || b.ServerCert() == nil {
					t.Fatalf("TLSAddr %q Addr %q", b.TLSAddr(), b.Addr())
				}
				good := b.ClientTLS(b.ClientCert("device-1"))
				ch := testbroker.Subscribe(t, b.TLSAddr(), "t", good)
				testbroker.Publish(t, b.TLSAddr(), "t", []byte("secure"), 1, false, good)
				expect(t, ch, "t", "secure")
				// The plain listener still works and shares the topic space.
				testbroker.Publish(t, b.Addr(), "t", []byte("plain"), 0, false)
				expect(t, ch, "t", "plain")

				if _, err := testbroker.ConnectErr(t, b.TLSAddr(), b.ClientTLS(nil)); err == nil {
					t.Fatal("client without certificate connected")
				}
				stranger := testbroker.Mochi(t, testbroker.WithTLS(testbroker.TLS{})) // another CA
				if _, err := testbroker.ConnectErr(t, b.TLSAddr(), testbroker.WithClientTLS(stranger.CA(), stranger.ClientCert("x"))); err == nil {
					t.Fatal("client trusting another CA connected")
				}
			})
		})
	}
}

func TestTLSClientCertOptional(t *testing.T) {
	each(t, func(t *testing.T, start starter) {
		b := start(t, testbroker.WithTLS(testbroker.TLS{}))
		testbroker.Connect(t, b.TLSAddr(), b.ClientTLS(nil))
		testbroker.Connect(t, b.TLSAddr(), b.ClientTLS(b.ClientCert("with-cert")))
	})
}

func TestPassword(t *testing.T) {
	each(t, func(t *testing.T, start starter) {
		b := start(t, testbroker.WithUser("alice", "pa ss:1"), testbroker.WithUser("bob", "b"))
		tt := []struct {
			name string
			opts []testbroker.ClientOption
			ok   bool
		}{
			{"alice", []testbroker.ClientOption{testbroker.WithCredentials("alice", "pa ss:1")}, true},
			{"bob", []testbroker.ClientOption{testbroker.WithCredentials("bob", "b")}, true},
			{"wrong password", []testbroker.ClientOption{testbroker.WithCredentials("alice", "b")}, false},
			{"unknown user", []testbroker.ClientOption{testbroker.WithCredentials("carol", "b")}, false},
			{"anonymous", nil, false},
		}
		for _, tc := range tt {
			t.Run(tc.name, func(t *testing.T) {
				_, err := testbroker.ConnectErr(t, b.Addr(), tc.opts...)
				if (err == nil) != tc.ok {
					t.Fatalf("err = %v, want ok=%v", err, tc.ok)
				}
			})
		}
	})
}

func TestMosquittoClients(t *testing.T) {
	each(t, func(t *testing.T, start starter) {
		b := start(t)
		sub := testbroker.SubProcess(t, b.Addr(), "m/#", 3, testbroker.WithQoS(1))
		testbroker.Pub(t, b.Addr(), "m/1", "one", 0)
		testbroker.Pub(t, b.Addr(), "m/2", "two words", 1)
		testbroker.Publish(t, b.Addr(), "m/3", []byte("three"), 2, false)
		got := sub.Wait()
		// Different publishers: MQTT does not order their messages.
		slices.Sort(got)
		if fmt.Sprint(got) != "[one three two words]" {
			t.Fatalf("lines = %q", got)
		}
	})
}

func TestMosquittoClientsTLSAndAuth(t *testing.T) {
	each(t, func(t *testing.T, start starter) {
		b := start(t, testbroker.WithTLS(testbroker.TLS{RequireClientCert: true}), testbroker.WithUser("u", "p"))
		good := []testbroker.ClientOption{b.ClientTLS(b.ClientCert("c")), testbroker.WithCredentials("u", "p")}
		sub := testbroker.SubProcess(t, b.TLSAddr(), "s", 1, good...)
		testbroker.Pub(t, b.TLSAddr(), "s", "tls hello", 1, good...)
		if got := sub.Wait(); len(got) != 1 || got[0] != "tls hello" {
			t.Fatalf("lines = %q", got)
		}
		if err := testbroker.PubErr(t, b.TLSAddr(), "s", "x", 0, b.ClientTLS(nil), testbroker.WithCredentials("u", "p")); err == nil {
			t.Fatal("mosquitto_pub without certificate succeeded")
		}
		if err := testbroker.PubErr(t, b.Addr(), "s", "x", 1, testbroker.WithCredentials("u", "wrong")); err == nil {
			t.Fatal("mosquitto_pub with a wrong password succeeded")
		}
	})
}

func TestFreePort(t *testing.T) {
	p, err := testbroker.FreePort()
	if err != nil || p <= 0 || p > 65535 {
		t.Fatalf("FreePort = %d, %v", p, err)
	}
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
	if err != nil {
		t.Fatalf("port %d not free: %v", p, err)
	}
	ln.Close()
}

func TestMochiMemory(t *testing.T) {
	b := testbroker.Mochi(t)
	if b.MochiBroker() == nil {
		t.Fatal("MochiBroker nil")
	}
	c, err := b.MochiBroker().DialMemory(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
}
