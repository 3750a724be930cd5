package mqttcore_test

import (
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/devicejs/devicejs/internal/testbroker"
	"github.com/devicejs/devicejs/mqttcore"
)

// ackScriptBroker answers CONNECT, never answers SUBSCRIBE, answers PUBREL with PUBCOMP, and
// answers each PUBLISH with the packets answer returns (given its QoS and packet identifier).
func ackScriptBroker(t *testing.T, answer func(qos byte, id [2]byte) [][]byte) *testbroker.FakeBroker {
	return testbroker.Fake(t, testbroker.Accept(0, func(c net.Conn) {
		for {
			h, body, err := testbroker.ReadPacket(c)
			if err != nil {
				return
			}
			var out [][]byte
			switch h >> 4 {
			case 3:
				qos := h >> 1 & 3
				if qos == 0 {
					continue
				}
				tl := int(body[0])<<8 | int(body[1])
				out = answer(qos, [2]byte{body[2+tl], body[3+tl]})
			case 6: // PUBREL
				out = [][]byte{{0x70, 2, body[0], body[1]}}
			}
			for _, p := range out {
				if _, err := c.Write(p); err != nil {
					return
				}
			}
		}
	}))
}

func ack(kind byte, id [2]byte) []byte { return []byte{kind, 2, id[0], id[1]} }

// TestWrongAcknowledgementIsAProtocolError checks what the device reports when a broker
// acknowledges a PUBLISH with the wrong packet (issue 12 item 1: RabbitMQ answers a QoS 2
// PUBLISH with PUBACK): the publish completes with 12 (Publish failed), the trace says why,
// and the connection is closed (Close event), as MQTT 3.1.1 section 4.8 requires.
func TestWrongAcknowledgementIsAProtocolError(t *testing.T) {
	const (
		puback  = 0x40
		pubrec  = 0x50
		pubcomp = 0x70
	)
	tt := []struct {
		name     string
		qos      byte
		busy     bool // a subscribe the broker never answers is in flight (publish goes via paho)
		answer   func(qos byte, id [2]byte) [][]byte
		want     []string
		badAck   string // Packet of the protocol_error event; "" for none
		errorHas string
	}{
		{"QoS 2 answered with PUBACK (RabbitMQ)", 2, false,
			func(_ byte, id [2]byte) [][]byte { return [][]byte{ack(puback, id)} },
			[]string{"pub 12", "close"}, "PUBACK", "PUBACK for QoS 2 PUBLISH"},
		{"QoS 2 answered with PUBCOMP before PUBREC", 2, false,
			func(_ byte, id [2]byte) [][]byte { return [][]byte{ack(pubcomp, id)} },
			[]string{"pub 12", "close"}, "PUBCOMP", "PUBCOMP before PUBREC"},
		{"QoS 2 answered PUBREC then PUBACK", 2, false,
			func(_ byte, id [2]byte) [][]byte { return [][]byte{ack(pubrec, id), ack(puback, id)} },
			[]string{"pub 12", "close"}, "PUBACK", "PUBACK for QoS 2 PUBLISH"},
		{"QoS 1 (direct) answered with PUBREC", 1, false,
			func(_ byte, id [2]byte) [][]byte { return [][]byte{ack(pubrec, id)} },
			[]string{"pub 12", "close"}, "PUBREC", "PUBREC for QoS 1 PUBLISH"},
		{"QoS 1 (direct) answered with PUBCOMP", 1, false,
			func(_ byte, id [2]byte) [][]byte { return [][]byte{ack(pubcomp, id)} },
			[]string{"pub 12", "close"}, "PUBCOMP", "PUBCOMP for QoS 1 PUBLISH"},
		{"QoS 1 (via paho) answered with PUBREC", 1, true,
			func(_ byte, id [2]byte) [][]byte { return [][]byte{ack(pubrec, id)} },
			[]string{"sub 11", "pub 12", "close"}, "PUBREC", "PUBREC for QoS 1 PUBLISH"},
		{"QoS 2 (behind a subscribe) answered with PUBACK", 2, true,
			func(_ byte, id [2]byte) [][]byte { return [][]byte{ack(puback, id)} },
			[]string{"sub 11", "pub 12", "close"}, "PUBACK", "PUBACK for QoS 2 PUBLISH"},

		// Controls: correct flows and stray acknowledgements change nothing.
		{"QoS 2 PUBREC, PUBREL, PUBCOMP", 2, false,
			func(_ byte, id [2]byte) [][]byte { return [][]byte{ack(pubrec, id)} },
			[]string{"pub 0"}, "", ""},
		{"QoS 2 with a repeated PUBREC", 2, false,
			func(_ byte, id [2]byte) [][]byte { return [][]byte{ack(pubrec, id), ack(pubrec, id)} },
			[]string{"pub 0"}, "", ""},
		{"QoS 1 after stray acknowledgements of other ids", 1, false,
			func(_ byte, id [2]byte) [][]byte {
				other := [2]byte{id[0] ^ 0x12, id[1] ^ 0x34}
				return [][]byte{ack(puback, other), ack(pubrec, other), ack(pubcomp, other), ack(puback, id)}
			},
			[]string{"pub 0"}, "", ""},
	}
	for _, tc := range tt {
		t.Run(tc.name, func(t *testing.T) {
			f := ackScriptBroker(t, tc.answer)
			h, log := tracedHost()
			o := fastOptions()
			o.ReconnectCount = 0 // the Close is the last event
			r := newRecorder()
			s := connected(t, h, f.URL(), o, r)
			if tc.busy {
				if err := s.Subscribe("never/acked", mqttcore.SubscribeOptions{}, r.done("sub")); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.Publish("t", []byte("m"), mqttcore.PublishOptions{QoS: tc.qos}, r.done("pub")); err != nil {
				t.Fatal(err)
			}
			r.expect(t, tc.want...)
			if tc.badAck == "" {
				r.quiet(t, 100*time.Millisecond)
				if e, found := log.find(func(e mqttcore.TraceEvent) bool { return e.Kind == mqttcore.TraceProtocolError }); found {
					t.Fatalf("protocol_error traced: %+v", e)
				}
			} else {
				e := log.waitFor(t, "protocol_error", func(e mqttcore.TraceEvent) bool { return e.Kind == mqttcore.TraceProtocolError })
				if e.Packet != tc.badAck || !e.HasID || !strings.Contains(e.Err, tc.errorHas) {
					t.Errorf("protocol_error %+v, want packet %s, error containing %q", e, tc.badAck, tc.errorHas)
				}
				log.waitFor(t, "recv "+tc.badAck, isPacket(mqttcore.DirRecv, tc.badAck))
				if s.IsConnected() {
					t.Error("still connected after the protocol violation")
				}
			}
			endAndWait(t, s)
			if tc.badAck == "" {
				r.expect(t, "end")
			}
		})
	}
}

// triggerClock is wall time whose timers fire only when the test calls fire: the
// connectTimeout of an attempt expires exactly at the stage the test chooses.
type triggerClock struct{ timers chan func() }

func (c triggerClock) Now() time.Time { return time.Now() }
func (c triggerClock) AfterFunc(_ time.Duration, f func()) func() bool {
	c.timers <- f
	return func() bool { return false }
}

// fire runs the next timer set.
func (c triggerClock) fire(t *testing.T) {
	t.Helper()
	select {
	case f := <-c.timers:
		f()
	case <-time.After(waitFor):
		t.Fatal("no timer set")
	}
}

// readingListener accepts connections, reports the first byte read from each on got, and
// never answers.
func readingListener(t *testing.T, got chan<- struct{}) string {
	t.Helper()
	f := testbroker.Fake(t, func(c net.Conn) {
		var b [1]byte
		if _, err := c.Read(b[:]); err != nil {
			return
		}
		got <- struct{}{}
		_, _ = io.Copy(io.Discard, c)
	})
	return f.Addr()
}

// TestConnectTimeoutTraced checks the failure reported when connectTimeout expires (issue 12
// item 2): it names the CONNACK or the connection that did not come in time, never the closed
// socket.
func TestConnectTimeoutTraced(t *testing.T) {
	dialing := make(chan struct{}, 1)
	blockingDial := func(ctx context.Context, _, _ string) (net.Conn, error) {
		dialing <- struct{}{}
		<-ctx.Done()
		return nil, ctx.Err()
	}
	read := make(chan struct{}, 4)
	addr := readingListener(t, read)
	tt := []struct {
		name string
		url  string
		dial func(ctx context.Context, network, addr string) (net.Conn, error)
		wait chan struct{} // the stage at which connectTimeout expires
		want string
	}{
		{"CONNECT sent, no CONNACK", "mqtt://" + addr, nil, read, "CONNACK not received within connectTimeout (5000 ms)"},
		{"TLS ClientHello sent, no answer", "mqtts://" + addr, nil, read, "TCP/TLS connection not established within connectTimeout (5000 ms)"},
		{"TCP connect never completes", "mqtt://" + addr, blockingDial, dialing, "TCP/TLS connection not established within connectTimeout (5000 ms)"},
	}
	for _, tc := range tt {
		t.Run(tc.name, func(t *testing.T) {
			log := &packetLog{}
			clock := triggerClock{timers: make(chan func(), 4)}
			h := mqttcore.NewHost(mqttcore.HostConfig{Clock: clock, Trace: log.add, Dial: tc.dial})
			o := fastOptions()
			o.ConnectTimeout = 5 * time.Second
			o.ReconnectCount = 0
			r := newRecorder()
			s, err := h.Connect(tc.url, o, mqttcore.TLSSettings{}, r.events())
			if err != nil {
				t.Fatal(err)
			}
			select {
			case <-tc.wait:
			case <-time.After(waitFor):
				t.Fatal("the attempt did not reach the stage")
			}
			clock.fire(t)
			r.expect(t, "error 1")
			if got := s.ErrnoConnect(); got != mqttcore.ErrnoConnectionFailed {
				t.Errorf("errnoConnect %d, want 6", got)
			}
			e := log.waitFor(t, "connect_failed", func(e mqttcore.TraceEvent) bool { return e.Kind == mqttcore.TraceConnectFailed })
			if e.Err != tc.want || e.Errno != mqttcore.ErrnoConnectionFailed {
				t.Errorf("connect_failed error %q errno %d, want %q errno 6", e.Err, e.Errno, tc.want)
			}
			endAndWait(t, s)
			r.expect(t, "end")
		})
	}
}
