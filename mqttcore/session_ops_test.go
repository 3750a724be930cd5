package mqttcore_test

import (
	"bytes"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/devicejs/devicejs/internal/testbroker"
	"github.com/devicejs/devicejs/mqttcore"
)

func TestSubscriptionLimitAcrossReconnections(t *testing.T) {
	b := startMochi(t, nil)
	h := newHost(mqttcore.Limits{})
	r := newRecorder()
	s := connected(t, h, b.URL(), fastOptions(), r)
	for round := range 3 {
		for i := range 5 {
			if err := s.Subscribe(fmt.Sprintf("f/%d", i), mqttcore.SubscribeOptions{QoS: 1}, r.done("sub")); err != nil {
				t.Fatalf("round %d sub %d: %v", round, i, err)
			}
		}
		// Subscribing again to a held filter updates it without counting twice.
		if err := s.Subscribe("f/0", mqttcore.SubscribeOptions{QoS: 2, Binary: true}, r.done("sub")); err != nil {
			t.Fatal(err)
		}
		if err := s.Subscribe("f/5", mqttcore.SubscribeOptions{}, r.done("sub")); err != mqttcore.SubscribeFailed {
			t.Fatalf("6th filter: %v, want 13", err)
		}
		r.expect(t, "sub 0", "sub 0", "sub 0", "sub 0", "sub 0", "sub 0")
		publish(t, b, "f/0", []byte("b"), false, 0)
		r.expect(t, "message f/0 b true")
		// Unsubscribing frees a slot at once.
		if err := s.Unsubscribe("f/4", r.done("unsub")); err != nil {
			t.Fatal(err)
		}
		if err := s.Subscribe("f/5", mqttcore.SubscribeOptions{}, r.done("sub")); err != nil {
			t.Fatal(err)
		}
		r.expect(t, "unsub 0", "sub 0")
		// A new connection starts without subscriptions.
		s.Reconnect()
		r.expect(t, "close", "reconnect", "connect")
	}
	endAndWait(t, s)
	r.expect(t, "end")
}

func TestRetainedAndQoSBothWays(t *testing.T) {
	b := startMochi(t, nil)
	h := newHost(mqttcore.Limits{})
	r := newRecorder()
	s := connected(t, h, b.URL(), fastOptions(), r)
	if err := s.Publish("keep/me", []byte("retained"), mqttcore.PublishOptions{QoS: 1, Retain: true}, r.done("pub")); err != nil {
		t.Fatal(err)
	}
	r.expect(t, "pub 0")
	if err := s.Subscribe("keep/#", mqttcore.SubscribeOptions{QoS: 2}, r.done("sub")); err != nil {
		t.Fatal(err)
	}
	got := []string{r.next(t), r.next(t)}
	if !(got[0] == "sub 0" && got[1] == "message keep/me retained false" || got[1] == "sub 0" && got[0] == "message keep/me retained false") {
		t.Fatalf("got %q", got)
	}
	for qos := byte(0); qos <= 2; qos++ {
		publish(t, b, "keep/q", []byte{'0' + qos}, false, qos)
		r.expect(t, fmt.Sprintf("message keep/q %d false", qos))
	}
	endAndWait(t, s)
	r.expect(t, "end")
}

func TestReceiveBufferDiscard(t *testing.T) {
	b := startMochi(t, nil)
	h := newHost(mqttcore.Limits{})
	o := fastOptions()
	o.RecvBuffSize = 128
	r := newRecorder()
	s := connected(t, h, b.URL(), o, r)
	if err := s.Subscribe("r", mqttcore.SubscribeOptions{QoS: 1}, r.done("sub")); err != nil {
		t.Fatal(err)
	}
	r.expect(t, "sub 0")
	fits := bytes.Repeat([]byte("x"), 128-1-9)
	publish(t, b, "r", append(fits, 'y'), false, 1) // one byte too many: discarded
	publish(t, b, "r", fits, false, 1)
	r.expect(t, "message r "+string(fits)+" false")
	st := s.Stats()
	if st.DiscardedForSize != 1 || st.Received != 1 {
		t.Fatalf("stats %+v", st)
	}
	// A message far above recvBuffSize (but below the packet cap) is also just discarded.
	publish(t, b, "r", bytes.Repeat([]byte("z"), 100_000), false, 1)
	publish(t, b, "r", []byte("small"), false, 1)
	r.expect(t, "message r small false")
	if !s.IsConnected() || s.Stats().DiscardedForSize != 2 {
		t.Fatalf("connected %v stats %+v", s.IsConnected(), s.Stats())
	}
	endAndWait(t, s)
	r.expect(t, "end")
}

func TestPublishArgumentsAndSendBuffer(t *testing.T) {
	b := startMochi(t, nil)
	h := newHost(mqttcore.Limits{})
	o := fastOptions()
	o.SendBuffSize = 128
	r := newRecorder()
	s := connected(t, h, b.URL(), o, r)
	tt := []struct {
		name    string
		topic   string
		payload int
		qos     byte
		want    error
	}{
		{"fits exactly", "t", 128 - 1 - 9, 0, nil},
		{"one byte over", "t", 128 - 1 - 9 + 1, 0, mqttcore.IllegalArgument},
		{"wildcard topic", "a/#", 1, 0, mqttcore.IllegalArgument},
		{"plus topic", "a/+/b", 1, 0, mqttcore.IllegalArgument},
		{"bad UTF-8", "a\xff", 1, 0, mqttcore.IllegalArgument},
		{"empty topic", "", 1, 0, mqttcore.IllegalArgument},
		{"qos 3", "t", 1, 3, mqttcore.IllegalArgument},
	}
	for _, tc := range tt {
		t.Run(tc.name, func(t *testing.T) {
			err := s.Publish(tc.topic, bytes.Repeat([]byte("p"), tc.payload), mqttcore.PublishOptions{QoS: tc.qos}, r.done("pub"))
			if err != tc.want {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if err == nil {
				r.expect(t, "pub 0")
			}
		})
	}
	for _, f := range []string{"", "a/#/b", "a+", "a\xff"} {
		if err := s.Subscribe(f, mqttcore.SubscribeOptions{}, nil); err != mqttcore.IllegalArgument {
			t.Errorf("subscribe %q: %v", f, err)
		}
		if err := s.Unsubscribe(f, nil); err != mqttcore.IllegalArgument {
			t.Errorf("unsubscribe %q: %v", f, err)
		}
	}
	if !s.IsConnected() {
		t.Fatal("refused arguments cost the connection")
	}
	endAndWait(t, s)
	r.expect(t, "end")
}

// noAckBroker accepts the connection and never acknowledges anything.
func noAckBroker(t *testing.T) *testbroker.FakeBroker {
	f, _ := noAckBrokerSeen(t)
	return f
}

// noAckBrokerSeen is noAckBroker that also sends the first byte of each packet it reads after
// the CONNECT (dropped when nobody receives it).
func noAckBrokerSeen(t *testing.T) (*testbroker.FakeBroker, <-chan byte) {
	seen := make(chan byte, 64)
	return testbroker.Fake(t, testbroker.Accept(0, func(c net.Conn) {
		for {
			h, _, err := testbroker.ReadPacket(c)
			if err != nil {
				return
			}
			select {
			case seen <- h:
			default:
			}
		}
	})), seen
}

func TestOnePublishInFlight(t *testing.T) {
	f := noAckBroker(t)
	h := newHost(mqttcore.Limits{})
	r := newRecorder()
	s := connected(t, h, f.URL(), fastOptions(), r)
	if err := s.Publish("t", []byte("1"), mqttcore.PublishOptions{QoS: 1}, r.done("pub1")); err != nil {
		t.Fatal(err)
	}
	if s.CanPublish() {
		t.Fatal("CanPublish while a publish is in flight")
	}
	if err := s.Publish("t", []byte("2"), mqttcore.PublishOptions{QoS: 0}, r.done("pub2")); err != mqttcore.PublishFailed {
		t.Fatalf("second publish: %v, want 12", err)
	}
	// The broker never PUBACKs; losing the connection completes the publish with 11.
	f.CloseConns()
	r.expect(t, "pub1 11", "close")
	endAndWait(t, s)
	r.expect(t, "end")
}

func TestPublishCutOffByBrokerStop(t *testing.T) {
	for qos := byte(1); qos <= 2; qos++ {
		f, seen := noAckBrokerSeen(t)
		h := newHost(mqttcore.Limits{})
		o := fastOptions()
		o.ReconnectCount = mqttcore.ReconnectForever
		r := newRecorder()
		s := connected(t, h, f.URL(), o, r)
		if err := s.Publish("t", []byte("x"), mqttcore.PublishOptions{QoS: qos}, r.done("pub")); err != nil {
			t.Fatal(err)
		}
		if err := s.Subscribe("s", mqttcore.SubscribeOptions{QoS: 1}, r.done("sub")); err != nil {
			t.Fatal(err)
		}
		// The PUBLISH is on the wire (the SUBSCRIBE, issued while it is in flight, stays queued
		// in the client: both must complete with 11 either way).
		for h := byte(0); h>>4 != 3; {
			h = testbroker.Receive(t, seen, waitFor, "the PUBLISH")
		}
		f.CloseConns()
		r.expect(t, "pub 11", "sub 11", "close")
		// The fake broker accepts again: the pending publish is not resent and not
		// completed a second time.
		for e := r.next(t); e != "connect"; e = r.next(t) {
			if e != "reconnect" {
				t.Fatalf("unexpected %q", e)
			}
		}
		if !s.CanPublish() {
			t.Fatal("cannot publish after reconnection")
		}
		endAndWait(t, s)
		r.expect(t, "end")
	}
}

func TestEndFailsPendingOperations(t *testing.T) {
	f := noAckBroker(t)
	h := newHost(mqttcore.Limits{})
	r := newRecorder()
	s := connected(t, h, f.URL(), fastOptions(), r)
	if err := s.Publish("t", []byte("x"), mqttcore.PublishOptions{QoS: 1}, r.done("pub")); err != nil {
		t.Fatal(err)
	}
	if err := s.Unsubscribe("s", r.done("unsub")); err != nil {
		t.Fatal(err)
	}
	rel := make(chan struct{})
	s.End(func() { r.ch <- "released"; close(rel) })
	r.expect(t, "end", "pub 11", "unsub 11", "released")
	<-rel
	for _, err := range []error{
		s.Publish("t", nil, mqttcore.PublishOptions{}, nil),
		s.Subscribe("t", mqttcore.SubscribeOptions{}, nil),
		s.Unsubscribe("t", nil),
	} {
		if err != mqttcore.Disconnected {
			t.Fatalf("after End: %v", err)
		}
	}
	s.Reconnect()
	r.quiet(t, 50*time.Millisecond)
}

func TestSubackFailure(t *testing.T) {
	// A broker that grants nothing: SUBACK 0x80 for every SUBSCRIBE.
	f := testbroker.Fake(t, testbroker.Accept(0, func(c net.Conn) {
		for {
			h, body, err := testbroker.ReadPacket(c)
			if err != nil {
				return
			}
			if h>>4 == 8 && len(body) >= 2 {
				if _, err := c.Write([]byte{0x90, 0x03, body[0], body[1], 0x80}); err != nil {
					return
				}
			}
		}
	}))
	h := newHost(mqttcore.Limits{})
	r := newRecorder()
	s := connected(t, h, f.URL(), fastOptions(), r)
	for i := range 6 { // refused subscriptions do not count against the limit
		if err := s.Subscribe(fmt.Sprintf("n/%d", i), mqttcore.SubscribeOptions{}, r.done("sub")); err != nil {
			t.Fatal(err)
		}
		r.expect(t, "sub 13")
	}
	endAndWait(t, s)
	r.expect(t, "end")
}

func TestHugePacketAnnouncementFailsConnection(t *testing.T) {
	f := testbroker.Fake(t, testbroker.Accept(0, func(c net.Conn) {
		// PUBLISH announcing a remaining length of 256 MB, then nothing.
		_, _ = c.Write([]byte{0x30, 0xff, 0xff, 0xff, 0x7f})
		_, _ = c.Read(make([]byte, 1))
	}))
	h := newHost(mqttcore.Limits{})
	r := newRecorder()
	s := connected(t, h, f.URL(), fastOptions(), r)
	r.expect(t, "close")
	endAndWait(t, s)
	r.expect(t, "end")
}

func TestTopicMatchingRoutesBinaryFlag(t *testing.T) {
	b := startMochi(t, nil)
	h := newHost(mqttcore.Limits{})
	r := newRecorder()
	s := connected(t, h, b.URL(), fastOptions(), r)
	subs := []struct {
		f   string
		bin bool
	}{{"a/+/c", true}, {"x/#", false}, {"bin/only", true}}
	for _, sub := range subs {
		if err := s.Subscribe(sub.f, mqttcore.SubscribeOptions{Binary: sub.bin}, r.done("sub")); err != nil {
			t.Fatal(err)
		}
	}
	r.expect(t, "sub 0", "sub 0", "sub 0")
	for _, m := range []struct {
		topic string
		bin   bool
	}{{"a/b/c", true}, {"x", false}, {"x/y/z", false}, {"bin/only", true}} {
		publish(t, b, m.topic, []byte("m"), false, 0)
		r.expect(t, fmt.Sprintf("message %s m %v", m.topic, m.bin))
	}
	endAndWait(t, s)
	r.expect(t, "end")
}

var _ = strings.Repeat
