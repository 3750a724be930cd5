package mqttcore_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/devicejs/devicejs/internal/testbroker"
	"github.com/devicejs/devicejs/mqttcore"
)

// recordingBroker answers CONNECT and sends every PUBLISH it reads (header byte and body) on
// pubs.
func recordingBroker(t *testing.T, pubs chan<- [2][]byte) *testbroker.FakeBroker {
	return testbroker.Fake(t, testbroker.Accept(0, func(c net.Conn) {
		for {
			h, body, err := testbroker.ReadPacket(c)
			if err != nil {
				return
			}
			if h>>4 == 3 {
				pubs <- [2][]byte{{h}, body}
			}
		}
	}))
}

// TestPublishQoS0OnTheWire checks the PUBLISH packets of QoS 0 publishes (written directly to
// the socket when nothing else is in flight) around the remaining-length boundaries.
func TestPublishQoS0OnTheWire(t *testing.T) {
	pubs := make(chan [2][]byte, 10)
	f := recordingBroker(t, pubs)
	h := newHost(mqttcore.Limits{})
	r := newRecorder()
	o := fastOptions()
	o.SendBuffSize = 65536
	s := connected(t, h, f.URL(), o, r)
	tt := []struct {
		name    string
		topic   string
		payload int // bytes
		retain  bool
	}{
		{"empty payload", "a", 0, false},
		{"retain", "a/b", 10, true},
		{"remaining length 127", "t", 124, false},
		{"remaining length 128", "t", 125, false},
		{"remaining length 16383", "t/" + strings.Repeat("x", 98), 16283, false},
		{"remaining length 16384", "t/" + strings.Repeat("x", 98), 16284, true},
	}
	for _, tc := range tt {
		t.Run(tc.name, func(t *testing.T) {
			payload := bytes.Repeat([]byte{'p'}, tc.payload)
			if err := s.Publish(tc.topic, payload, mqttcore.PublishOptions{Retain: tc.retain}, r.done("pub")); err != nil {
				t.Fatal(err)
			}
			r.expect(t, "pub 0")
			var got [2][]byte
			select {
			case got = <-pubs:
			case <-time.After(waitFor):
				t.Fatal("no PUBLISH")
			}
			wantH := byte(0x30)
			if tc.retain {
				wantH |= 0x01
			}
			want := append([]byte{byte(len(tc.topic) >> 8), byte(len(tc.topic))}, tc.topic...)
			want = append(want, payload...)
			if got[0][0] != wantH || !bytes.Equal(got[1], want) {
				t.Errorf("header %#x (want %#x), body %d bytes (want %d), equal %v",
					got[0][0], wantH, len(got[1]), len(want), bytes.Equal(got[1], want))
			}
		})
	}
	endAndWait(t, s)
	r.expect(t, "end")
}

// TestPublishQoS0CompletesWhenWritten fills the socket (a broker that stops reading, small
// socket buffers) and the send buffer: Publish must still return at once, and once neither can
// take a packet its completion must wait until it is really written, then arrive with 0.
func TestPublishQoS0CompletesWhenWritten(t *testing.T) {
	release := make(chan struct{})
	f := testbroker.Fake(t, testbroker.Accept(0, func(c net.Conn) {
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetReadBuffer(4096)
		}
		select {
		case <-release:
		case <-time.After(waitFor):
		}
		_, _ = io.Copy(io.Discard, c)
	}))
	var d net.Dialer
	h := mqttcore.NewHost(mqttcore.HostConfig{Clock: fastClock{scale: 100},
		Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := d.DialContext(ctx, network, addr)
			if tc, ok := c.(*net.TCPConn); ok {
				_ = tc.SetWriteBuffer(4096)
			}
			return c, err
		}})
	r := newRecorder()
	o := fastOptions()
	o.SendBuffSize = 65536
	s := connected(t, h, f.URL(), o, r)
	payload := bytes.Repeat([]byte{'x'}, 60000)
	blocked := false
	for i := 0; i < 500 && !blocked; i++ {
		start := time.Now()
		if err := s.Publish("big", payload, mqttcore.PublishOptions{}, r.done("pub")); err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
		if d := time.Since(start); d > time.Second {
			t.Fatalf("publish %d blocked the caller for %v", i, d)
		}
		select {
		case got := <-r.ch:
			if got != "pub 0" {
				t.Fatalf("publish %d: %q", i, got)
			}
		case <-time.After(300 * time.Millisecond):
			blocked = true
		}
	}
	if !blocked {
		t.Fatal("the socket never filled up")
	}
	if s.CanPublish() {
		t.Error("CanPublish is true while a publish is being written")
	}
	if err := s.Publish("big", payload, mqttcore.PublishOptions{}, nil); err != mqttcore.PublishFailed {
		t.Errorf("second publish in flight: %v, want %v", err, mqttcore.PublishFailed)
	}
	close(release)
	r.expect(t, "pub 0")
	if err := s.Publish("small", []byte("y"), mqttcore.PublishOptions{}, r.done("pub")); err != nil {
		t.Fatal(err)
	}
	r.expect(t, "pub 0")
	endAndWait(t, s)
	r.expect(t, "end")
}

// TestDirectQoS1PublishThenSubscribe: a QoS 1 publish completes on its PUBACK only; a
// SUBSCRIBE issued while it is in flight reaches the wire after it, and completions keep the
// issue order.
func TestDirectQoS1PublishThenSubscribe(t *testing.T) {
	wire := make(chan string, 10)
	f := testbroker.Fake(t, testbroker.Accept(0, func(c net.Conn) {
		for {
			h, body, err := testbroker.ReadPacket(c)
			if err != nil {
				return
			}
			switch h >> 4 {
			case 3:
				tl := int(body[0])<<8 | int(body[1])
				id := body[2+tl : 4+tl]
				wire <- fmt.Sprintf("publish %#x", h)
				time.Sleep(100 * time.Millisecond) // the publish stays in flight a while
				if _, err := c.Write([]byte{0x40, 2, id[0], id[1]}); err != nil {
					return
				}
			case 8:
				wire <- "subscribe"
				if _, err := c.Write([]byte{0x90, 3, body[0], body[1], 0}); err != nil {
					return
				}
			}
		}
	}))
	h := newHost(mqttcore.Limits{})
	r := newRecorder()
	s := connected(t, h, f.URL(), fastOptions(), r)
	if err := s.Publish("q", []byte("1"), mqttcore.PublishOptions{QoS: 1, Dup: true}, r.done("pub")); err != nil {
		t.Fatal(err)
	}
	if err := s.Subscribe("q", mqttcore.SubscribeOptions{}, r.done("sub")); err != nil {
		t.Fatal(err)
	}
	r.expect(t, "pub 0", "sub 0")
	for _, want := range []string{"publish 0x3a", "subscribe"} {
		select {
		case got := <-wire:
			if got != want {
				t.Fatalf("on the wire: %q, want %q", got, want)
			}
		case <-time.After(waitFor):
			t.Fatalf("no %q on the wire", want)
		}
	}
	if got := s.Stats().Published; got != 1 {
		t.Errorf("Stats().Published = %d, want 1", got)
	}
	endAndWait(t, s)
	r.expect(t, "end")
}
