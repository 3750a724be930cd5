package devtest_test

import (
	"testing"
	"time"

	"github.com/devicejs/devicejs/devtest"
	"github.com/devicejs/devicejs/mqttcore"
)

// TestFormatTracePackets checks the failure-message trace lines: packets show direction, type,
// packet id and (PUBLISH) QoS, and no line ends in padding.
func TestFormatTracePackets(t *testing.T) {
	tests := []struct {
		name string
		ev   mqttcore.TraceEvent
		want string
	}{
		{"event without fields", mqttcore.TraceEvent{Kind: mqttcore.TraceClose}, "      90ms close\n"},
		{"connect packet", mqttcore.TraceEvent{Kind: mqttcore.TracePacket, Dir: "send", Packet: "CONNECT"},
			"      90ms packet           send CONNECT\n"},
		{"publish packet", mqttcore.TraceEvent{Kind: mqttcore.TracePacket, Dir: "send", Packet: "PUBLISH",
			HasID: true, PacketID: 7, Topic: "a/b", QoS: 2},
			"      90ms packet           send PUBLISH id=7 topic=a/b qos=2\n"},
		{"ack packet", mqttcore.TraceEvent{Kind: mqttcore.TracePacket, Dir: "recv", Packet: "PUBACK", HasID: true, PacketID: 7},
			"      90ms packet           recv PUBACK id=7\n"},
		{"protocol error", mqttcore.TraceEvent{Kind: mqttcore.TraceProtocolError, Packet: "PUBACK", HasID: true, PacketID: 3, Err: "PUBACK for a QoS 2 PUBLISH"},
			"      90ms protocol_error    PUBACK id=3 err=\"PUBACK for a QoS 2 PUBLISH\"\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.ev.Time = time.Unix(0, 0)
			got := devtest.FormatTrace([]devtest.TraceEntry{{AtMs: 90, Event: tt.ev}})
			if got != tt.want {
				t.Errorf("FormatTrace:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}
