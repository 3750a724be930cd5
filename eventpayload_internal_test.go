package devicejs

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/devicejs/devicejs/mqttcore"
)

// TestEventPayloadCost: a message costs no allocation for its payload unless OnEvent is set,
// and then one bounded copy; Config.Trace never sees the borrowed payload.
func TestEventPayloadCost(t *testing.T) {
	big := bytes.Repeat([]byte{'p'}, 100_000)
	msg := mqttcore.TraceEvent{Kind: mqttcore.TraceMessage, Topic: "t", Bytes: len(big), Payload: big}
	var traced int
	tt := []struct {
		name   string
		obs    *observer
		allocs float64
	}{
		{"no hooks", &observer{hooks: &hooks{}}, 0},
		{"Trace only", &observer{hooks: &hooks{}, trace: func(e mqttcore.TraceEvent) { traced += len(e.Payload) }}, 0},
		{"OnEvent", &observer{hooks: &hooks{}, onEvent: func(Event) {}}, 0},
		{"OnEvent with EventPayloads", &observer{hooks: &hooks{}, onEvent: func(Event) {}, payloads: true}, 1},
	}
	for _, tc := range tt {
		t.Run(tc.name, func(t *testing.T) {
			got := testing.AllocsPerRun(100, func() { tc.obs.observe(msg) })
			if got > tc.allocs {
				t.Errorf("%.1f allocations per message, want at most %.0f", got, tc.allocs)
			}
		})
	}
	if traced != 0 {
		t.Errorf("Config.Trace saw %d payload bytes, want none", traced)
	}
}

// TestEventPayloadBoundedCopy: shapes of payload and the copy's bound.
func TestEventPayloadBoundedCopy(t *testing.T) {
	tt := []struct {
		name    string
		in      []byte
		wantLen int
		cut     bool
	}{
		{"nil", nil, 0, false},
		{"empty", []byte{}, 0, false},
		{"small", []byte("on"), 2, false},
		{"at bound", make([]byte, MaxEventPayload), MaxEventPayload, false},
		{"over bound", make([]byte, MaxEventPayload+1), MaxEventPayload, true},
		{"1 MiB", make([]byte, 1<<20), MaxEventPayload, true},
	}
	for _, tc := range tt {
		t.Run(tc.name, func(t *testing.T) {
			got, cut := eventPayload(tc.in)
			if len(got) != tc.wantLen || cut != tc.cut {
				t.Fatalf("len %d cut %v, want %d %v", len(got), cut, tc.wantLen, tc.cut)
			}
			if cap(got) > MaxEventPayload {
				t.Errorf("cap %d over the bound", cap(got))
			}
			if len(tc.in) > 0 {
				tc.in[0] ^= 0xff
				if got[0] == tc.in[0] {
					t.Error("the event shares the session's payload")
				}
			}
		})
	}
}

// BenchmarkObserveMessage: the observer's cost per received message, by hook and payload size.
func BenchmarkObserveMessage(b *testing.B) {
	for _, size := range []int{16, 100_000} {
		p := make([]byte, size)
		msg := mqttcore.TraceEvent{Kind: mqttcore.TraceMessage, Topic: "t", Bytes: size, Payload: p}
		for _, h := range []struct {
			name string
			obs  *observer
		}{
			{"none", &observer{hooks: &hooks{}}},
			{"Trace", &observer{hooks: &hooks{}, trace: func(mqttcore.TraceEvent) {}}},
			{"OnEvent", &observer{hooks: &hooks{}, onEvent: func(Event) {}}},
			{"OnEvent with EventPayloads", &observer{hooks: &hooks{}, onEvent: func(Event) {}, payloads: true}},
		} {
			b.Run(fmt.Sprintf("%s/%dB", h.name, size), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					h.obs.observe(msg)
				}
			})
		}
	}
}
