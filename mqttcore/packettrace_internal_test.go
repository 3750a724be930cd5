package mqttcore

import (
	"reflect"
	"slices"
	"testing"
	"time"
)

// collectTracer returns a packetTracer whose events are appended to *out.
func collectTracer(out *[]TraceEvent) *packetTracer {
	s := &Session{h: &Host{clock: wallClock{}}, clientID: "c"}
	return &packetTracer{s: s, broker: "mqtt://b:1883", emit: func(e TraceEvent) { *out = append(*out, e) }}
}

// TestPacketTraceParse checks the parser on well-formed and broken packets (MQTT 3.1.1
// section 2 and 3): every field it reports, and an Err instead of a panic or a guess for
// every kind of damage.
func TestPacketTraceParse(t *testing.T) {
	tt := []struct {
		name string
		raw  []byte // one or more packets, as written in one go
		want []TraceEvent
	}{
		{"CONNECT with user and password",
			[]byte{0x10, 16, 0, 4, 'M', 'Q', 'T', 'T', 4, 0xC2, 0, 60, 0, 1, 'c', 0, 1, 'u'},
			[]TraceEvent{{Packet: "CONNECT", Size: 18, ProtocolLevel: 4, KeepAlive: 60, CleanSession: true, Username: true, Password: true}}},
		{"CONNECT MQTT 3.1 with will", []byte{0x10, 12, 0, 6, 'M', 'Q', 'I', 's', 'd', 'p', 3, 0x04, 0, 0},
			[]TraceEvent{{Packet: "CONNECT", Size: 14, ProtocolLevel: 3, Will: true}}},
		{"CONNACK refused, session present", []byte{0x20, 2, 1, 5},
			[]TraceEvent{{Packet: "CONNACK", Size: 4, SessionPresent: true, ReturnCode: 5}}},
		{"PUBLISH QoS 0 retain", []byte{0x31, 5, 0, 1, 't', 'h', 'i'},
			[]TraceEvent{{Packet: "PUBLISH", Size: 7, Topic: "t", Retain: true, Bytes: 2}}},
		{"PUBLISH QoS 2 dup", []byte{0x3C, 6, 0, 1, 't', 0x12, 0x34, 'x'},
			[]TraceEvent{{Packet: "PUBLISH", Size: 8, Topic: "t", QoS: 2, Dup: true, PacketID: 0x1234, HasID: true, Bytes: 1}}},
		{"PUBACK PUBREC PUBREL PUBCOMP in one write",
			[]byte{0x40, 2, 0, 1, 0x50, 2, 0, 2, 0x62, 2, 0, 3, 0x70, 2, 0, 4},
			[]TraceEvent{{Packet: "PUBACK", Size: 4, PacketID: 1, HasID: true}, {Packet: "PUBREC", Size: 4, PacketID: 2, HasID: true},
				{Packet: "PUBREL", Size: 4, PacketID: 3, HasID: true}, {Packet: "PUBCOMP", Size: 4, PacketID: 4, HasID: true}}},
		{"SUBSCRIBE two filters", []byte{0x82, 12, 0, 7, 0, 2, 'a', '/', 1, 0, 2, 'b', '#', 2},
			[]TraceEvent{{Packet: "SUBSCRIBE", Size: 14, PacketID: 7, HasID: true, Topic: "a/", QoS: 1, Filters: 2}}},
		{"SUBACK granted and refused", []byte{0x90, 4, 0, 7, 1, 0x80},
			[]TraceEvent{{Packet: "SUBACK", Size: 6, PacketID: 7, HasID: true, Granted: []byte{1, 0x80}}}},
		{"UNSUBSCRIBE", []byte{0xA2, 5, 0, 8, 0, 1, 'a'},
			[]TraceEvent{{Packet: "UNSUBSCRIBE", Size: 7, PacketID: 8, HasID: true, Topic: "a", Filters: 1}}},
		{"UNSUBACK PINGREQ PINGRESP DISCONNECT", []byte{0xB0, 2, 0, 8, 0xC0, 0, 0xD0, 0, 0xE0, 0},
			[]TraceEvent{{Packet: "UNSUBACK", Size: 4, PacketID: 8, HasID: true}, {Packet: "PINGREQ", Size: 2},
				{Packet: "PINGRESP", Size: 2}, {Packet: "DISCONNECT", Size: 2}}},
		{"reserved types", []byte{0x00, 0, 0xF0, 0}, []TraceEvent{{Packet: "RESERVED", Size: 2}, {Packet: "RESERVED", Size: 2}}},

		// Damage.
		{"truncated body", []byte{0x40, 2, 0}, []TraceEvent{{Packet: "PUBACK", Size: 3, Err: "truncated packet"}}},
		{"lone fixed header byte", []byte{0x30}, []TraceEvent{{Packet: "PUBLISH", Size: 1, Err: "truncated packet"}}},
		{"remaining length over 4 bytes", []byte{0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F},
			[]TraceEvent{{Packet: "PUBLISH", Size: 6, Err: "remaining length longer than 4 bytes"}}},
		{"topic longer than the packet", []byte{0x30, 3, 0, 9, 't'},
			[]TraceEvent{{Packet: "PUBLISH", Size: 5, Err: "string longer than the packet"}}},
		{"PUBLISH QoS 1 without id", []byte{0x32, 3, 0, 1, 't'},
			[]TraceEvent{{Packet: "PUBLISH", Size: 5, Topic: "t", QoS: 1, Err: "packet ends early"}}},
		{"PUBLISH QoS 3", []byte{0x36, 3, 0, 1, 't'},
			[]TraceEvent{{Packet: "PUBLISH", Size: 5, Topic: "t", QoS: 3, Err: "PUBLISH with QoS 3"}}},
		{"PUBACK without id", []byte{0x40, 0}, []TraceEvent{{Packet: "PUBACK", Size: 2, Err: "packet ends early"}}},
		{"CONNACK short", []byte{0x20, 1, 0}, []TraceEvent{{Packet: "CONNACK", Size: 3, Err: "short CONNACK"}}},
		{"SUBSCRIBE filter without QoS", []byte{0x82, 5, 0, 1, 0, 1, 'a'},
			[]TraceEvent{{Packet: "SUBSCRIBE", Size: 7, PacketID: 1, HasID: true, Topic: "a", Filters: 1, Err: "packet ends early"}}},
		{"CONNECT cut in the header", []byte{0x10, 3, 0, 4, 'M'},
			[]TraceEvent{{Packet: "CONNECT", Size: 5, Err: "string longer than the packet"}}},
		{"good packet then garbage", []byte{0xC0, 0, 0x90},
			[]TraceEvent{{Packet: "PINGREQ", Size: 2}, {Packet: "SUBACK", Size: 1, Err: "truncated packet"}}},
	}
	for _, tc := range tt {
		t.Run(tc.name, func(t *testing.T) {
			var got []TraceEvent
			collectTracer(&got).stream(DirSend, tc.raw)
			if len(got) != len(tc.want) {
				t.Fatalf("%d events, want %d: %+v", len(got), len(tc.want), got)
			}
			for i, w := range tc.want {
				g := got[i]
				if g.Kind != TracePacket || g.Dir != DirSend || g.ClientID != "c" || g.Broker != "mqtt://b:1883" || g.Time.IsZero() {
					t.Errorf("event %d: identity %+v", i, g)
				}
				g.Kind, g.Dir, g.ClientID, g.Broker, g.Time = "", "", "", "", time.Time{}
				if !slices.Equal(g.Granted, w.Granted) {
					t.Errorf("event %d: granted %v, want %v", i, g.Granted, w.Granted)
				}
				g.Granted, w.Granted = nil, nil
				if !reflect.DeepEqual(g, w) {
					t.Errorf("event %d:\n got %+v\nwant %+v", i, g, w)
				}
			}
		})
	}
}

// TestAckWatch checks the expected acknowledgement of each written request: publishes by QoS,
// SUBSCRIBE by its filter count, UNSUBSCRIBE, the wrong packet type for each, and identifiers
// with nothing outstanding.
func TestAckWatch(t *testing.T) {
	var w ackWatch
	w.sent(1, 1)
	w.sent(2, 2)
	w.wrote([]byte{0x82, 6, 0, 3, 0, 1, 'a', 1})                // SUBSCRIBE 3: one filter
	w.wrote([]byte{0x82, 10, 0, 4, 0, 1, 'a', 1, 0, 1, 'b', 0}) // SUBSCRIBE 4: two filters
	w.wrote([]byte{0xA2, 5, 0, 5, 0, 1, 'a'})                   // UNSUBSCRIBE 5
	w.wrote([]byte{0x82, 6, 0, 6, 0, 1, 'x', 1})                // SUBSCRIBE 6
	w.wrote([]byte{0xA2, 5, 0, 7, 0, 1, 'y'})                   // UNSUBSCRIBE 7
	w.wrote([]byte{0x82, 6, 0, 8, 0, 1, 'z', 1})                // SUBSCRIBE 8
	w.wrote([]byte{0x30, 3, 0, 1, 't'})                         // QoS 0: nothing to await
	w.wrote([]byte{0x82, 6, 0, 9, 0, 9, 'a', 1})                // truncated: ignored
	steps := []struct {
		typ   byte
		id    uint16
		codes []byte
		want  string
		known bool
	}{
		{5, 2, nil, "", true},                            // PUBREC for QoS 2
		{5, 2, nil, "", true},                            // repeated
		{4, 2, nil, "PUBACK for QoS 2 PUBLISH 2", true},  // then forgotten
		{4, 2, nil, "", false},                           // unknown id: dropped
		{7, 1, nil, "PUBCOMP for QoS 1 PUBLISH 1", true}, // wrong for QoS 1
		{4, 1, nil, "", false},                           // forgotten after the violation
		{4, 999, nil, "", false},                         // never sent
		{9, 3, []byte{0, 1}, "SUBACK with 2 return codes for SUBSCRIBE 3 of 1 filter(s)", true},
		{9, 4, []byte{0, 1}, "", true}, // two filters, two codes
		{11, 5, nil, "", true},         // UNSUBACK
		{4, 6, nil, "PUBACK for SUBSCRIBE 6", true},
		{9, 7, []byte{0}, "SUBACK for UNSUBSCRIBE 7", true},
		{11, 8, nil, "UNSUBACK for SUBSCRIBE 8", true},
		{9, 9, []byte{0}, "", false}, // the truncated SUBSCRIBE
	}
	for i, s := range steps {
		v := w.received(s.typ, s.id, s.codes)
		if v.bad != s.want || v.known != s.known {
			t.Errorf("step %d: %q known %v, want %q known %v", i, v.bad, v.known, s.want, s.known)
		}
	}
	if w.pending != nil {
		t.Fatalf("%d still pending: %+v", len(w.pending), w.pending)
	}
	for id := range uint16(100) {
		w.sent(id%10, 1)
	}
	if len(w.pending) != 10 {
		t.Fatalf("%d pending, want 10 (one per identifier)", len(w.pending))
	}
}

// TestPublishID checks the packet identifier extraction on the packets paho writes.
func TestPublishID(t *testing.T) {
	tt := []struct {
		raw    []byte
		qos    byte
		id     uint16
		wantOK bool
	}{
		{[]byte{0x32, 5, 0, 1, 't', 0, 9}, 1, 9, true},
		{[]byte{0x34, 5, 0, 1, 't', 1, 2}, 2, 0x0102, true},
		{[]byte{0x30, 3, 0, 1, 't'}, 0, 0, false},
		{[]byte{0x32, 3, 0, 1, 't'}, 0, 0, false},       // id missing
		{[]byte{0x32, 5, 0, 9, 't', 0, 9}, 0, 0, false}, // topic length beyond the packet
		{[]byte{0x40, 2, 0, 1}, 0, 0, false},
		{[]byte{0x32}, 0, 0, false},
		{nil, 0, 0, false},
	}
	for i, tc := range tt {
		qos, id, ok := publishID(tc.raw)
		if ok != tc.wantOK || (ok && (qos != tc.qos || id != tc.id)) {
			t.Errorf("%d: %d %d %v", i, qos, id, ok)
		}
	}
}

// FuzzPacketTrace checks that no byte stream makes the packet parser panic or loop: each
// event accounts for at least one byte and the sizes add up to the input.
func FuzzPacketTrace(f *testing.F) {
	for _, seed := range [][]byte{
		{0x10, 16, 0, 4, 'M', 'Q', 'T', 'T', 4, 0xC2, 0, 60, 0, 1, 'c', 0, 1, 'u'},
		{0x3C, 6, 0, 1, 't', 0x12, 0x34, 'x'},
		{0x82, 12, 0, 7, 0, 2, 'a', '/', 1, 0, 2, 'b', '#', 2},
		{0x90, 4, 0, 7, 1, 0x80},
		{0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F},
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var got []TraceEvent
		collectTracer(&got).stream(DirRecv, raw)
		total := 0
		for _, e := range got {
			if e.Size < 1 {
				t.Fatalf("event of size %d", e.Size)
			}
			total += e.Size
		}
		if total != len(raw) {
			t.Fatalf("sizes add up to %d, input %d", total, len(raw))
		}
		_, _, _ = publishID(raw)
	})
}
