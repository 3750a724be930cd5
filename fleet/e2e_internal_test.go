package fleet

import (
	"strconv"
	"testing"
	"time"
)

func TestValidateE2EFilter(t *testing.T) {
	for _, tc := range []struct {
		f  string
		ok bool
	}{
		{"meters/#", true}, {"#", true}, {"+/reading", true}, {"a/+/c", true}, {"a/b", true}, {"/", true},
		{"", false}, {"a/#/c", false}, {"a#", false}, {"a/b#", false}, {"a+/b", false}, {"a/+b", false},
		{"a\x00b", false}, {"\xff", false},
	} {
		if err := ValidateE2EFilter(tc.f); (err == nil) != tc.ok {
			t.Errorf("ValidateE2EFilter(%q) = %v, want ok %v", tc.f, err, tc.ok)
		}
	}
}

// TestE2EState: a receipt after its publish's completion counts the time from the publish's
// issue; one before it waits for it; fan-out counts each receipt; topics outside the filter and
// unknown payloads are not counted (the latter unmatched); the records stay bounded.
func TestE2EState(t *testing.T) {
	e := newE2E("m/#")
	t0 := e.base
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	e.published("m/1", []byte("a"), at(100), 20*time.Millisecond) // issued at 80
	e.received("m/1", []byte("a"), at(130))                       // 50
	e.received("m/1", []byte("a"), at(180))                       // fan-out: 100
	e.received("m/2", []byte("b"), at(200))                       // before its completion: 200-190 = 10
	e.published("m/2", []byte("b"), at(210), 20*time.Millisecond) // issued at 190
	e.published("other/1", []byte("c"), at(210), time.Millisecond)
	e.received("other/1", []byte("c"), at(300))
	e.received("m/3", []byte("never published"), at(300))
	var ld Load
	e.figures(&ld)
	h := ld.E2E.Latency
	if h.Count != 3 || ld.E2E.Sent != 2 || ld.E2E.Unmatched != 1 || h.MaxMicros != 100000 {
		t.Errorf("e2e %+v", ld.E2E)
	}
	if p := h.Percentiles(); p.P50 < 45 || p.P50 > 55 {
		t.Errorf("p50 %v, want ~50 ms", p.P50)
	}
	for i := range maxE2ERecords + 1000 {
		e.published("m/x", []byte(strconv.Itoa(i)), at(400), time.Millisecond)
	}
	if len(e.recs) != maxE2ERecords || len(e.ring) != maxE2ERecords {
		t.Errorf("%d records, ring %d, want at most %d", len(e.recs), len(e.ring), maxE2ERecords)
	}
	e.received("m/x", []byte("0"), at(500)) // forgotten: waits as a receipt, then unmatched
	e.received("m/x", []byte(strconv.Itoa(maxE2ERecords+999)), at(500))
	e.figures(&ld)
	if ld.E2E.Latency.Count != 4 || ld.E2E.Unmatched != 2 {
		t.Errorf("after the bound: %+v", ld.E2E)
	}
}

// BenchmarkE2E is the probe's cost per matching publish and its one receipt, once the records
// are full (each publish forgets the oldest).
func BenchmarkE2E(b *testing.B) {
	e := newE2E("m/#")
	payloads := make([][]byte, 1<<17)
	for i := range payloads {
		payloads[i] = []byte(`{"seq":` + strconv.Itoa(i) + `,"kwh":12.5}`)
	}
	now := time.Now()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		p := payloads[i%len(payloads)]
		e.published("m/meter-17/reading", p, now, time.Millisecond)
		e.received("m/meter-17/reading", p, now)
		i++
	}
}
