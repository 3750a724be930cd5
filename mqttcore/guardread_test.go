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

// publishPacket encodes a PUBLISH from the broker (id is used for QoS 1 and 2).
func publishPacket(qos byte, id uint16, topic string, payload []byte) []byte {
	body := append([]byte{byte(len(topic) >> 8), byte(len(topic))}, topic...)
	if qos > 0 {
		body = append(body, byte(id>>8), byte(id))
	}
	body = append(body, payload...)
	pkt := []byte{0x30 | qos<<1}
	for n := len(body); ; {
		d := byte(n % 128)
		n /= 128
		if n == 0 {
			pkt = append(pkt, d)
			break
		}
		pkt = append(pkt, d|0x80)
	}
	return append(pkt, body...)
}

// TestIncomingPublishes sends messages of every QoS and of sizes around the read buffer, in
// one burst: they arrive in order, QoS 1 is PUBACKed, QoS 2 is PUBRECed and, after the PUBREL,
// PUBCOMPed.
func TestIncomingPublishes(t *testing.T) {
	acks := make(chan string, 20)
	big := bytes.Repeat([]byte{'b'}, 5000)
	edge := bytes.Repeat([]byte{'e'}, 4096-2-1-2-2) // the whole packet is exactly 4096 bytes
	f := testbroker.Fake(t, testbroker.Accept(0, func(c net.Conn) {
		_, body, err := testbroker.ReadPacket(c) // SUBSCRIBE
		if err != nil {
			return
		}
		var burst []byte
		burst = append(burst, 0x90, 3, body[0], body[1], 2)
		burst = append(burst, publishPacket(0, 0, "m", []byte("a"))...)
		burst = append(burst, publishPacket(1, 7, "m", []byte("b"))...)
		burst = append(burst, publishPacket(2, 8, "m", []byte("c"))...)
		burst = append(burst, publishPacket(0, 0, "m", big)...)
		burst = append(burst, publishPacket(1, 9, "m", edge)...)
		burst = append(burst, publishPacket(0, 0, "m", []byte("z"))...)
		if _, err := c.Write(burst); err != nil {
			return
		}
		for {
			h, body, err := testbroker.ReadPacket(c)
			if err != nil {
				return
			}
			acks <- fmt.Sprintf("%#x %x", h, body)
			if h == 0x50 { // PUBREC: release
				if _, err := c.Write([]byte{0x62, 2, body[0], body[1]}); err != nil {
					return
				}
			}
		}
	}))
	h := newHost(mqttcore.Limits{})
	r := newRecorder()
	o := fastOptions()
	o.RecvBuffSize = 65536
	s := connected(t, h, f.URL(), o, r)
	if err := s.Subscribe("m", mqttcore.SubscribeOptions{QoS: 2}, r.done("sub")); err != nil {
		t.Fatal(err)
	}
	// The SUBACK's completion and the messages right behind it may come in either order
	// (docs/device-semantics.md); the messages keep theirs.
	wantMsgs := []string{"message m a false", "message m b false", "message m c false",
		"message m " + string(big) + " false", "message m " + string(edge) + " false", "message m z false"}
	var msgs []string
	sub := false
	for range len(wantMsgs) + 1 {
		if e := r.next(t); e == "sub 0" {
			sub = true
		} else {
			msgs = append(msgs, e)
		}
	}
	if !sub || strings.Join(msgs, "|") != strings.Join(wantMsgs, "|") {
		t.Fatalf("subscribe completed %v; messages %.200q", sub, msgs)
	}
	want := map[string]bool{"0x40 0007": true, "0x50 0008": true, "0x70 0008": true, "0x40 0009": true}
	for len(want) > 0 {
		select {
		case a := <-acks:
			if !want[a] {
				t.Fatalf("unexpected packet %s from the client", a)
			}
			delete(want, a)
		case <-time.After(waitFor):
			t.Fatalf("missing acknowledgements %v", want)
		}
	}
	endAndWait(t, s)
	r.expect(t, "end")
}

// TestMalformedPublishDropsTheConnection: a PUBLISH whose topic length overruns the packet
// fails the connection ('close'), as any other malformed packet.
func TestMalformedPublishDropsTheConnection(t *testing.T) {
	f := testbroker.Fake(t, testbroker.Accept(0, func(c net.Conn) {
		_, _ = c.Write([]byte{0x30, 3, 0, 9, 'x'})
		_, _, _ = testbroker.ReadPacket(c)
	}))
	h := newHost(mqttcore.Limits{})
	r := newRecorder()
	s := connected(t, h, f.URL(), fastOptions(), r)
	r.expect(t, "close")
	if s.IsConnected() {
		t.Error("still connected")
	}
	endAndWait(t, s)
	r.expect(t, "end")
}
