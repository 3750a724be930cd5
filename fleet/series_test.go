package fleet_test

import (
	"bytes"
	"reflect"
	"testing"
	"time"

	"github.com/devicejs/devicejs/fleet"
)

// TestMergeSeriesAndSlowest: shards' samples add up index by index (a shorter shard adds
// nothing to the later samples), and the merged Slowest keeps the slowest SlowestKept of all.
func TestMergeSeriesAndSlowest(t *testing.T) {
	a := fleet.Summary{Version: fleet.SummaryVersion, FleetSize: 4, Instances: 2, Shards: []string{"0/2"},
		Series:  []fleet.Sample{{T: 1, Started: 2, Connected: 1, Received: 5}, {T: 2, Started: 2, Connected: 2, Received: 9}},
		Slowest: []fleet.DeviceLatency{{ClientID: "a", LatencyMS: 30}, {ClientID: "b", LatencyMS: 10}}}
	b := fleet.Summary{Version: fleet.SummaryVersion, FleetSize: 4, Instances: 2, Shards: []string{"1/2"},
		Series:  []fleet.Sample{{T: 1.01, Started: 2, Connected: 2, Errors: 1, Published: 3}},
		Slowest: []fleet.DeviceLatency{{ClientID: "c", LatencyMS: 20}}}
	for i := range 30 { // more than SlowestKept in all
		b.Slowest = append(b.Slowest, fleet.DeviceLatency{ClientID: "x", LatencyMS: float64(i) / 100})
	}
	m, err := fleet.Merge(a, b)
	if err != nil {
		t.Fatal(err)
	}
	wantSeries := []fleet.Sample{{T: 1.01, Started: 4, Connected: 3, Errors: 1, Received: 5, Published: 3}, {T: 2, Started: 2, Connected: 2, Received: 9}}
	if !reflect.DeepEqual(m.Series, wantSeries) {
		t.Errorf("series %+v, want %+v", m.Series, wantSeries)
	}
	if len(m.Slowest) != fleet.SlowestKept {
		t.Fatalf("%d slowest, want %d", len(m.Slowest), fleet.SlowestKept)
	}
	if got := []string{m.Slowest[0].ClientID, m.Slowest[1].ClientID, m.Slowest[2].ClientID}; !reflect.DeepEqual(got, []string{"a", "c", "b"}) {
		t.Errorf("slowest first three %v", got)
	}
	// The new fields survive the JSON round trip that `fleet merge` does, and stay absent when empty.
	var buf bytes.Buffer
	if err := m.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	back, err := fleet.ReadSummary(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back.Series, m.Series) || !reflect.DeepEqual(back.Slowest, m.Slowest) {
		t.Errorf("round trip lost series or slowest")
	}
	buf.Reset()
	if err := (fleet.Summary{}).WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(buf.Bytes(), []byte("series")) || bytes.Contains(buf.Bytes(), []byte("slowest")) {
		t.Errorf("empty summary writes the new fields: %s", buf.Bytes())
	}
}

// TestHistogramSince: the difference of two readings of a growing histogram holds the
// durations added in between, its maximum within their bucket; merged samples keep the largest
// interval percentiles.
func TestHistogramSince(t *testing.T) {
	var a fleet.Histogram
	for range 10 {
		a.Add(time.Millisecond)
	}
	b := a
	b.Buckets = map[int]uint64{}
	for k, v := range a.Buckets {
		b.Buckets[k] = v
	}
	for range 5 {
		b.Add(300 * time.Millisecond)
	}
	b.Add(2 * time.Second)
	for _, tc := range []struct {
		name           string
		later, earlier fleet.Histogram
		count          uint64
		p50, max       float64 // ms, within 10 %
	}{
		{"interval", b, a, 6, 300, 2000},
		{"nothing new", a, a, 0, 0, 0},
		{"from empty", a, fleet.Histogram{}, 10, 1, 1},
	} {
		d := tc.later.Since(tc.earlier)
		p := d.Percentiles()
		near := func(got, want float64) bool { return got >= want*0.9 && got <= want*1.1 }
		if d.Count != tc.count || !near(p.P50, tc.p50) || !near(p.Max, tc.max) {
			t.Errorf("%s: count %d, %+v; want %d, p50 %v, max %v", tc.name, d.Count, p, tc.count, tc.p50, tc.max)
		}
	}
	x := fleet.Summary{Version: fleet.SummaryVersion, FleetSize: 2, Shards: []string{"0/2"}, Series: []fleet.Sample{{T: 1, PublishP50MS: 5, PublishP99MS: 50}}}
	y := fleet.Summary{Version: fleet.SummaryVersion, FleetSize: 2, Shards: []string{"1/2"}, Series: []fleet.Sample{{T: 1, PublishP50MS: 7, PublishP99MS: 20, E2EP99MS: 9}}}
	m, err := fleet.Merge(x, y)
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Series[0]; got.PublishP50MS != 7 || got.PublishP99MS != 50 || got.E2EP99MS != 9 {
		t.Errorf("merged sample %+v", got)
	}
}
