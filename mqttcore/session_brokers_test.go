package mqttcore_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/devicejs/devicejs/internal/pki"
	"github.com/devicejs/devicejs/internal/testbroker"
	"github.com/devicejs/devicejs/mqttcore"
)

// brokerKinds runs f against in-process mochi and against the mosquitto binary.
func brokerKinds(t *testing.T, f func(t *testing.T, start func(t *testing.T, opts ...testbroker.Option) *testbroker.Broker)) {
	t.Run("mochi", func(t *testing.T) {
		f(t, func(t *testing.T, opts ...testbroker.Option) *testbroker.Broker { return testbroker.Mochi(t, opts...) })
	})
	t.Run("mosquitto", func(t *testing.T) {
		f(t, func(t *testing.T, opts ...testbroker.Option) *testbroker.Broker {
			return testbroker.Mosquitto(t, opts...)
		})
	})
}

func TestBrokersPubSubAllQoS(t *testing.T) {
	brokerKinds(t, func(t *testing.T, start func(*testing.T, ...testbroker.Option) *testbroker.Broker) {
		b := start(t)
		h := newHost(mqttcore.Limits{})
		r := newRecorder()
		s := connected(t, h, b.URL(), fastOptions(), r)
		peer := testbroker.Subscribe(t, b.Addr(), "dev/#", testbroker.WithQoS(2))
		for qos := byte(0); qos <= 2; qos++ {
			if err := s.Subscribe(fmt.Sprintf("in/%d", qos), mqttcore.SubscribeOptions{QoS: qos, Binary: qos == 2}, r.done("sub")); err != nil {
				t.Fatal(err)
			}
			r.expect(t, "sub 0")
			// device -> peer
			if err := s.Publish(fmt.Sprintf("dev/%d", qos), []byte("up"), mqttcore.PublishOptions{QoS: qos}, r.done("pub")); err != nil {
				t.Fatal(err)
			}
			r.expect(t, "pub 0")
			if m := testbroker.Next(t, peer); m.Topic != fmt.Sprintf("dev/%d", qos) || string(m.Payload) != "up" || m.QoS != qos {
				t.Fatalf("peer got %+v", m)
			}
			// peer -> device
			testbroker.Publish(t, b.Addr(), fmt.Sprintf("in/%d", qos), []byte("down"), qos, false)
			r.expect(t, fmt.Sprintf("message in/%d down %v", qos, qos == 2))
		}
		// Retained: stored by the broker, delivered on a later subscription.
		testbroker.Publish(t, b.Addr(), "ret/a", []byte("kept"), 1, true)
		if err := s.Subscribe("ret/+", mqttcore.SubscribeOptions{QoS: 1}, r.done("sub")); err != nil {
			t.Fatal(err)
		}
		got := []string{r.next(t), r.next(t)}
		if !(got[0] == "sub 0" && got[1] == "message ret/a kept false" || got[1] == "sub 0" && got[0] == "message ret/a kept false") {
			t.Fatalf("retained: %q", got)
		}
		endAndWait(t, s)
		r.expect(t, "end")
	})
}

func TestBrokersMosquittoSubPeer(t *testing.T) {
	b := testbroker.Mosquitto(t)
	sub := testbroker.SubProcess(t, b.Addr(), "dev/out", 2, testbroker.WithQoS(1))
	h := newHost(mqttcore.Limits{})
	r := newRecorder()
	s := connected(t, h, b.URL(), fastOptions(), r)
	for i, p := range []string{"one", "two"} {
		if err := s.Publish("dev/out", []byte(p), mqttcore.PublishOptions{QoS: byte(i + 1)}, r.done("pub")); err != nil {
			t.Fatal(err)
		}
		r.expect(t, "pub 0")
	}
	if got := strings.Join(sub.Wait(), ","); got != "one,two" {
		t.Fatalf("mosquitto_sub got %q", got)
	}
	endAndWait(t, s)
	r.expect(t, "end")
}

func TestBrokersWrongPassword(t *testing.T) {
	brokerKinds(t, func(t *testing.T, start func(*testing.T, ...testbroker.Option) *testbroker.Broker) {
		b := start(t, testbroker.WithUser("dev", "secret"))
		h := newHost(mqttcore.Limits{})
		o := fastOptions()
		o.Username, o.Password = strp("dev"), strp("wrong")
		r := newRecorder()
		s, err := h.Connect(b.URL(), o, mqttcore.TLSSettings{}, r.events())
		if err != nil {
			t.Fatal(err)
		}
		r.expect(t, "error 1")
		// The broker's CONNACK code passes through: 4 (bad user name or password) or
		// 5 (not authorized), depending on the broker.
		if e := s.ErrnoConnect(); e != mqttcore.ErrnoBadUsernameOrPassword && e != mqttcore.ErrnoNotAuthorized {
			t.Fatalf("errnoConnect %d", e)
		}
		t.Logf("errnoConnect %d", s.ErrnoConnect())
		endAndWait(t, s)
		r.expect(t, "end")
		o.Password = strp("secret")
		s = connected(t, h, b.URL(), o, r)
		endAndWait(t, s)
		r.expect(t, "end")
	})
}

func TestBrokersTLS(t *testing.T) {
	brokerKinds(t, func(t *testing.T, start func(*testing.T, ...testbroker.Option) *testbroker.Broker) {
		b := start(t, testbroker.WithTLS(testbroker.TLS{RequireClientCert: true}))
		h := newHost(mqttcore.Limits{})
		ca := string(b.CA().CertPEM)
		cl := b.ClientCert("device01")
		good := mqttcore.TLSSettings{CA: ca, Cert: string(cl.CertPEM), Key: string(cl.KeyPEM)}
		r := newRecorder()
		s, err := h.Connect(b.TLSURL(), fastOptions(), good, r.events())
		if err != nil {
			t.Fatal(err)
		}
		r.expect(t, "connect")
		if err := s.Publish("tls/x", []byte("secure"), mqttcore.PublishOptions{QoS: 1}, r.done("pub")); err != nil {
			t.Fatal(err)
		}
		r.expect(t, "pub 0")
		endAndWait(t, s)
		r.expect(t, "end")

		other := pki.Must(pki.NewCA("other CA"))
		connectFails(t, h, b.TLSURL(), fastOptions(), mqttcore.TLSSettings{CA: string(other.CertPEM), Cert: good.Cert, Key: good.Key}, mqttcore.ErrnoTLS)
		connectFails(t, h, b.TLSURL(), fastOptions(), mqttcore.TLSSettings{CA: ca}, mqttcore.ErrnoTLS)
		foreign := pki.Must(other.IssueClient("intruder"))
		connectFails(t, h, b.TLSURL(), fastOptions(), mqttcore.TLSSettings{CA: ca, Cert: string(foreign.CertPEM), Key: string(foreign.KeyPEM)}, mqttcore.ErrnoTLS)
	})
}

func TestBrokersKillAndRestart(t *testing.T) {
	brokerKinds(t, func(t *testing.T, start func(*testing.T, ...testbroker.Option) *testbroker.Broker) {
		b := start(t)
		h := newHost(mqttcore.Limits{})
		o := fastOptions()
		o.ReconnectCount = mqttcore.ReconnectForever
		o.ReconnectPeriod = 2 * time.Second // 20 ms wall
		r := newRecorder()
		s := connected(t, h, b.URL(), o, r)
		for round := range 2 {
			if err := s.Subscribe("back/#", mqttcore.SubscribeOptions{QoS: 1}, r.done("sub")); err != nil {
				t.Fatal(err)
			}
			r.expect(t, "sub 0")
			testbroker.Publish(t, b.Addr(), "back/x", []byte(fmt.Sprint(round)), 1, false)
			r.expect(t, fmt.Sprintf("message back/x %d false", round))
			b.Kill()
			r.expect(t, "close", "reconnect")
			if !s.IsReconnecting() && !s.IsConnected() {
				t.Fatal("not reconnecting after the loss")
			}
			b.Restart()
			for e := r.next(t); e != "connect"; e = r.next(t) {
				if e != "reconnect" {
					t.Fatalf("unexpected %q", e)
				}
			}
		}
		endAndWait(t, s)
		r.expect(t, "end")
	})
}

func TestBrokersMQTT31(t *testing.T) {
	brokerKinds(t, func(t *testing.T, start func(*testing.T, ...testbroker.Option) *testbroker.Broker) {
		b := start(t)
		h := newHost(mqttcore.Limits{})
		o := fastOptions()
		o.ProtocolVersion, o.ProtocolID = 3, mqttcore.ProtocolIDMQIsdp
		r := newRecorder()
		s := connected(t, h, b.URL(), o, r)
		if err := s.Subscribe("v31", mqttcore.SubscribeOptions{QoS: 1}, r.done("sub")); err != nil {
			t.Fatal(err)
		}
		r.expect(t, "sub 0")
		if err := s.Publish("v31", []byte("old"), mqttcore.PublishOptions{QoS: 1}, r.done("pub")); err != nil {
			t.Fatal(err)
		}
		got := []string{r.next(t), r.next(t)}
		if !(got[0] == "pub 0" && got[1] == "message v31 old false" || got[1] == "pub 0" && got[0] == "message v31 old false") {
			t.Fatalf("got %q", got)
		}
		endAndWait(t, s)
		r.expect(t, "end")
	})
}
