package mqttcore_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/devicejs/devicejs/mqttcore"
)

// traceLog collects trace events.
type traceLog struct {
	mu     sync.Mutex
	events []mqttcore.TraceEvent
}

func (l *traceLog) add(e mqttcore.TraceEvent) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, e)
}

func (l *traceLog) lines() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, e := range l.events {
		out = append(out, strings.TrimSpace(fmt.Sprintf("%s %s", e.Kind, e.Topic)))
	}
	return out
}

func TestTraceConversation(t *testing.T) {
	const secret = "MARKER-PASSWORD-7f3a"
	b := startMochi(t, map[string]string{"dev": secret})
	var log traceLog
	h := mqttcore.NewHost(mqttcore.HostConfig{Clock: fastClock{scale: 100}, Trace: log.add})
	o := fastOptions()
	o.Username, o.Password = strp("dev"), strp(secret)
	o.SendBuffSize = 200000 // refused by the device limits
	if _, err := h.Connect(b.URL(), o, mqttcore.TLSSettings{}, mqttcore.Events{}); err == nil {
		t.Fatal("sendBuffSize 200000 accepted with device limits")
	}
	o.SendBuffSize = mqttcore.DefaultSendBuffSize
	r := newRecorder()
	s := connected(t, h, b.URL(), o, r)
	if err := s.Subscribe("a/b", mqttcore.SubscribeOptions{QoS: 1}, r.done("sub")); err != nil {
		t.Fatal(err)
	}
	r.expect(t, "sub 0")
	if err := s.Publish("a/b", []byte("hi"), mqttcore.PublishOptions{QoS: 1}, r.done("pub")); err != nil {
		t.Fatal(err)
	}
	got := []string{r.next(t), r.next(t)}
	if got[0] != "pub 0" && got[1] != "pub 0" {
		t.Fatalf("got %q", got)
	}
	s.Reconnect()
	r.expect(t, "close", "reconnect", "connect")
	endAndWait(t, s)
	want := []string{"connect_attempt", "connack", "subscribe a/b", "suback a/b", "publish a/b",
		"publish_done a/b", "message a/b", "close", "reconnect_wait", "reconnect", "connect_attempt", "connack", "end"}
	lines := log.lines()
	// The message and the publish completion may arrive in either order.
	if len(lines) == len(want) && lines[5] == "message a/b" {
		lines[5], lines[6] = lines[6], lines[5]
	}
	if strings.Join(lines, ",") != strings.Join(want, ",") {
		t.Fatalf("trace\n got %q\nwant %q", lines, want)
	}
	log.mu.Lock()
	defer log.mu.Unlock()
	for _, e := range log.events {
		if e.Time.IsZero() || e.ClientID != s.ClientID() || e.Broker != "mqtt://"+b.Addr() {
			t.Errorf("event %+v: missing time or identity", e)
		}
		if strings.Contains(fmt.Sprintf("%+v", e), secret) {
			t.Errorf("event %+v carries the password", e)
		}
	}
}

func TestHostLimitsLiftBuffers(t *testing.T) {
	b := startMochi(t, nil)
	lim := mqttcore.HostLimits()
	h := newHost(lim)
	o := fastOptions()
	o.SendBuffSize, o.RecvBuffSize = 200000, 200000
	r := newRecorder()
	s := connected(t, h, b.URL(), o, r)
	defer endAndWait(t, s)
	if err := s.Subscribe("big", mqttcore.SubscribeOptions{}, r.done("sub")); err != nil {
		t.Fatal(err)
	}
	r.expect(t, "sub 0")
	payload := strings.Repeat("x", 100000)
	if err := s.Publish("big", []byte(payload), mqttcore.PublishOptions{QoS: 1}, r.done("pub")); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if e := r.next(t); e != "pub 0" && !strings.HasPrefix(e, "message big xxx") {
			t.Fatalf("got %.40q", e)
		}
	}
	o.SendBuffSize = mqttcore.HostMaxBuffSize + 1
	if _, err := h.Connect(b.URL(), o, mqttcore.TLSSettings{}, mqttcore.Events{}); err == nil {
		t.Fatal("sendBuffSize above HostMaxBuffSize accepted")
	}
}
