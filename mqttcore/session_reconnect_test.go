package mqttcore_test

import (
	"fmt"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/devicejs/devicejs/broker"
	"github.com/devicejs/devicejs/internal/testbroker"
	"github.com/devicejs/devicejs/mqttcore"
)

func TestAutoReconnectCountExhausted(t *testing.T) {
	for _, n := range []int{1, 3} {
		h := newHost(mqttcore.Limits{})
		o := fastOptions()
		o.ReconnectCount = n
		r := newRecorder()
		s, err := h.Connect("mqtt://"+testbroker.DeadAddr(t), o, mqttcore.TLSSettings{}, r.events())
		if err != nil {
			t.Fatal(err)
		}
		for range n {
			r.expect(t, "reconnect")
		}
		r.expect(t, "error 1")
		if s.ErrnoConnect() != mqttcore.ErrnoConnectionFailed || s.IsReconnecting() {
			t.Fatalf("errno %d reconnecting %v", s.ErrnoConnect(), s.IsReconnecting())
		}
		if st := s.Stats(); st.Reconnects != uint64(n) {
			t.Fatalf("reconnects %d, want %d", st.Reconnects, n)
		}
		r.quiet(t, 50*time.Millisecond)
		endAndWait(t, s)
		r.expect(t, "end")
	}
}

func TestAutoReconnectForever(t *testing.T) {
	h := newHost(mqttcore.Limits{})
	o := fastOptions()
	o.ReconnectCount = mqttcore.ReconnectForever
	r := newRecorder()
	s, err := h.Connect("mqtt://"+testbroker.DeadAddr(t), o, mqttcore.TLSSettings{}, r.events())
	if err != nil {
		t.Fatal(err)
	}
	for range 20 {
		r.expect(t, "reconnect")
	}
	if !s.IsReconnecting() && s.ErrnoConnect() != mqttcore.ErrnoConnectionFailed {
		t.Fatal("not reconnecting")
	}
	endAndWait(t, s)
	// Reconnect events already queued may precede end; nothing follows it.
	for {
		if e := r.next(t); e == "end" {
			break
		} else if e != "reconnect" {
			t.Fatalf("unexpected %q", e)
		}
	}
	r.quiet(t, 50*time.Millisecond)
}

func TestManualReconnectWaitsAndIgnoresSecondCall(t *testing.T) {
	h := newHost(mqttcore.Limits{})
	o := fastOptions()
	o.ReconnectPeriod = 10 * time.Second // 100 ms wall
	r := newRecorder()
	s, err := h.Connect("mqtt://"+testbroker.DeadAddr(t), o, mqttcore.TLSSettings{}, r.events())
	if err != nil {
		t.Fatal(err)
	}
	r.expect(t, "error 1")
	start := time.Now()
	s.Reconnect()
	s.Reconnect()
	if !s.IsReconnecting() {
		t.Fatal("not reconnecting after Reconnect")
	}
	r.expect(t, "reconnect", "error 1")
	if el := time.Since(start); el < 90*time.Millisecond {
		t.Fatalf("reconnect after %v, want reconnectPeriod (100ms wall)", el)
	}
	r.quiet(t, 300*time.Millisecond)
	endAndWait(t, s)
	r.expect(t, "end")
}

func TestConnectionLostNoReconnect(t *testing.T) {
	b := startMochi(t, nil)
	h := newHost(mqttcore.Limits{})
	r := newRecorder()
	s := connected(t, h, b.URL(), fastOptions(), r)
	b.Stop()
	r.expect(t, "close")
	if s.IsConnected() || s.IsReconnecting() || s.CanPublish() {
		t.Fatal("flags after loss")
	}
	if err := s.Publish("a", nil, mqttcore.PublishOptions{}, nil); err != mqttcore.Disconnected {
		t.Fatalf("publish after loss: %v", err)
	}
	r.quiet(t, 50*time.Millisecond)
	// The samples call reconnect() from the close handler.
	b.Restart()
	s.Reconnect()
	r.expect(t, "reconnect", "connect")
	endAndWait(t, s)
	r.expect(t, "end")
}

func TestBrokerRestartResubscribe(t *testing.T) {
	b := startMochi(t, nil)
	h := newHost(mqttcore.Limits{})
	o := fastOptions()
	o.ReconnectCount = mqttcore.ReconnectForever
	r := newRecorder()
	var sp atomic.Pointer[mqttcore.Session]
	ev := r.events()
	// Like the samples: subscribe in the connect handler, on every connection.
	ev.Connect = func(mqttcore.Connack) {
		var s *mqttcore.Session
		testbroker.Eventually(waitFor, func() bool { s = sp.Load(); return s != nil })
		if err := s.Subscribe("t/#", mqttcore.SubscribeOptions{QoS: 1}, r.done("sub")); err != nil {
			r.ch <- "subscribe refused " + err.Error()
		}
		r.ch <- "connect"
	}
	s, err := h.Connect(b.URL(), o, mqttcore.TLSSettings{}, ev)
	if err != nil {
		t.Fatal(err)
	}
	sp.Store(s)
	r.expect(t, "connect", "sub 0")
	for i := range 3 {
		b.Restart()
		r.expect(t, "close")
		// The broker may already be back: one or more reconnect attempts.
		for {
			e := r.next(t)
			if e == "connect" {
				break
			}
			if e != "reconnect" {
				t.Fatalf("round %d: unexpected %q", i, e)
			}
		}
		r.expect(t, "sub 0")
		publish(t, b, "t/x", []byte("hello"), false, 1)
		r.expect(t, "message t/x hello false")
	}
	if st := s.Stats(); st.Reconnects < 3 {
		t.Fatalf("reconnects %d", st.Reconnects)
	}
	endAndWait(t, s)
	r.expect(t, "end")
}

// silentAfterConnect is a fake broker that reads each CONNECT, reports it on the returned
// channel and never answers.
func silentAfterConnect(t *testing.T) (string, <-chan struct{}) {
	connects := make(chan struct{}, 16)
	return testbroker.Fake(t, testbroker.OnConnect(func(net.Conn) {
		select {
		case connects <- struct{}{}:
		default:
		}
	})).Addr(), connects
}

func TestEndWhileConnectingAndReconnecting(t *testing.T) {
	t.Run("connecting", func(t *testing.T) {
		h := newHost(mqttcore.Limits{})
		o := fastOptions()
		o.ConnectTimeout = 0 // wait for CONNACK forever
		r := newRecorder()
		addr, connects := silentAfterConnect(t)
		s, err := h.Connect("mqtt://"+addr, o, mqttcore.TLSSettings{}, r.events())
		if err != nil {
			t.Fatal(err)
		}
		testbroker.Receive(t, connects, waitFor, "the CONNECT") // the attempt reached the CONNACK read
		endAndWait(t, s)
		r.expect(t, "end")
		r.quiet(t, 50*time.Millisecond)
	})
	t.Run("waiting", func(t *testing.T) {
		h := newHost(mqttcore.Limits{})
		o := fastOptions()
		o.ReconnectCount = 5
		o.ReconnectPeriod = 10 * time.Second
		r := newRecorder()
		s, err := h.Connect("mqtt://"+testbroker.DeadAddr(t), o, mqttcore.TLSSettings{}, r.events())
		if err != nil {
			t.Fatal(err)
		}
		testbroker.Eventually(waitFor, s.IsReconnecting)
		endAndWait(t, s)
		// On a loaded machine the wait may already have ended: reconnect events can precede
		// end, nothing may follow it.
		for e := r.next(t); e != "end"; e = r.next(t) {
			if e != "reconnect" {
				t.Fatalf("unexpected %q", e)
			}
		}
		r.quiet(t, 200*time.Millisecond)
	})
	t.Run("reconnecting", func(t *testing.T) {
		h := newHost(mqttcore.Limits{})
		o := fastOptions()
		o.ReconnectCount = mqttcore.ReconnectForever
		o.ConnectTimeout = 0
		r := newRecorder()
		addr, connects := silentAfterConnect(t)
		s, err := h.Connect("mqtt://"+addr, o, mqttcore.TLSSettings{}, r.events())
		if err != nil {
			t.Fatal(err)
		}
		testbroker.Receive(t, connects, waitFor, "the CONNECT")
		endAndWait(t, s)
		r.expect(t, "end")
	})
}

func TestReconnectWhileConnectedDropsConnection(t *testing.T) {
	b := startMochi(t, nil)
	h := newHost(mqttcore.Limits{})
	r := newRecorder()
	s := connected(t, h, b.URL(), fastOptions(), r)
	if err := s.Subscribe("x", mqttcore.SubscribeOptions{}, r.done("sub")); err != nil {
		t.Fatal(err)
	}
	r.expect(t, "sub 0")
	s.Reconnect()
	s.Reconnect()
	r.expect(t, "close", "reconnect", "connect")
	r.quiet(t, 50*time.Millisecond)
	endAndWait(t, s)
	r.expect(t, "end")
}

// TestSample1ReconnectFromHandlers drives the session the way samples 1, 2 and 6 do:
// reconnect() from both the error and the close handler, with reconnectCount 0.
func TestSample1ReconnectFromHandlers(t *testing.T) {
	addr := testbroker.DeadAddr(t)
	h := newHost(mqttcore.Limits{})
	r := newRecorder()
	var sp atomic.Pointer[mqttcore.Session]
	sess := func() *mqttcore.Session {
		testbroker.Eventually(waitFor, func() bool { return sp.Load() != nil })
		return sp.Load()
	}
	ev := r.events()
	ev.Error = func(c mqttcore.Code) {
		r.ch <- fmt.Sprintf("error %d errno %d", c, sess().ErrnoConnect())
		if c == mqttcore.ConnectionFailed {
			sess().Reconnect()
		}
	}
	ev.Close = func() {
		r.ch <- "close"
		sess().Reconnect()
	}
	s, err := h.Connect("mqtt://"+addr, fastOptions(), mqttcore.TLSSettings{}, ev)
	if err != nil {
		t.Fatal(err)
	}
	sp.Store(s)
	r.expect(t, "error 1 errno 6")
	for range 3 {
		r.expect(t, "reconnect", "error 1 errno 6")
	}
	// The broker comes up on that address; some failed rounds may still come first.
	b := testbroker.Mochi(t, testbroker.WithConfig(broker.Config{TCPAddr: addr}))
	for e := r.next(t); e != "connect"; e = r.next(t) {
		if e != "reconnect" && e != "error 1 errno 6" {
			t.Fatalf("unexpected %q", e)
		}
	}
	if s.ErrnoConnect() != 0 {
		t.Fatalf("errno %d after connect", s.ErrnoConnect())
	}
	for range 2 {
		b.Restart()
		r.expect(t, "close")
		for e := r.next(t); e != "connect"; e = r.next(t) {
			if e != "reconnect" && e != "error 1 errno 6" {
				t.Fatalf("unexpected %q", e)
			}
		}
	}
	endAndWait(t, s)
	r.expect(t, "end")
	r.quiet(t, 50*time.Millisecond)
}

func TestReconnectPeriodZero(t *testing.T) {
	h := newHost(mqttcore.Limits{})
	o := fastOptions()
	o.ReconnectPeriod = 0
	o.ReconnectCount = 10
	r := newRecorder()
	s, err := h.Connect("mqtt://"+testbroker.DeadAddr(t), o, mqttcore.TLSSettings{}, r.events())
	if err != nil {
		t.Fatal(err)
	}
	for range 10 {
		r.expect(t, "reconnect")
	}
	r.expect(t, "error 1")
	endAndWait(t, s)
	r.expect(t, "end")
}
