package mqttcore_test

import (
	"errors"
	"testing"
	"time"

	"github.com/devicejs/devicejs/mqttcore"
)

func TestSessionConnectPublishSubscribeEnd(t *testing.T) {
	b := startMochi(t, nil)
	h := newHost(mqttcore.Limits{})
	r := newRecorder()
	s := connected(t, h, b.URL(), fastOptions(), r)
	if !s.IsConnected() || s.IsReconnecting() || !s.CanPublish() || s.ErrnoConnect() != 0 {
		t.Fatalf("after connect: connected %v reconnecting %v canPublish %v errno %d",
			s.IsConnected(), s.IsReconnecting(), s.CanPublish(), s.ErrnoConnect())
	}
	if err := s.Subscribe("a/+", mqttcore.SubscribeOptions{QoS: 1}, r.done("sub")); err != nil {
		t.Fatal(err)
	}
	if err := s.Subscribe("bin/#", mqttcore.SubscribeOptions{QoS: 2, Binary: true}, r.done("sub2")); err != nil {
		t.Fatal(err)
	}
	r.expect(t, "sub 0", "sub2 0")
	for qos := byte(0); qos <= 2; qos++ {
		if err := s.Publish("a/b", []byte("hi"), mqttcore.PublishOptions{QoS: qos}, r.done("pub")); err != nil {
			t.Fatal(err)
		}
		got := []string{r.next(t), r.next(t)}
		if !(got[0] == "pub 0" && got[1] == "message a/b hi false") && !(got[1] == "pub 0" && got[0] == "message a/b hi false") {
			t.Fatalf("qos %d: got %q", qos, got)
		}
	}
	publish(t, b, "bin/x", []byte("raw"), false, 2)
	r.expect(t, "message bin/x raw true")
	if err := s.Unsubscribe("a/+", r.done("unsub")); err != nil {
		t.Fatal(err)
	}
	r.expect(t, "unsub 0")
	st := s.Stats()
	if st.Published != 3 || st.Received != 4 {
		t.Fatalf("stats %+v", st)
	}
	endAndWait(t, s)
	r.expect(t, "end")
	if s.IsConnected() || s.CanPublish() {
		t.Fatal("connected after End")
	}
	if err := s.Publish("a/b", nil, mqttcore.PublishOptions{}, nil); !errors.Is(err, mqttcore.Disconnected) {
		t.Fatalf("publish after End: %v", err)
	}
	r.quiet(t, 50*time.Millisecond)
}
