package fleet_test

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/devicejs/devicejs/fleet"
)

// loadSummary is a shard's summary with the load figures set.
func loadSummary(shard string, start, recovery float64, recovered bool, lat ...time.Duration) fleet.Summary {
	s := shardSummary(shard, time.Millisecond)
	s.PublishAttempts, s.PublishErrors, s.InFlightAtEnd = 110, 2, 8
	s.PublishLatency = map[string]fleet.Histogram{"qos1": histogramOf(lat...), "qos0": histogramOf(time.Microsecond)}
	s.ConnectionsLost = 5
	s.Storms = []fleet.Storm{{StartSeconds: start, ConnectionsLost: 5, RecoverySeconds: recovery, Recovered: recovered,
		PublishesFailed: 2, PublishesRetried: 1}}
	if !recovered {
		s.Storms[0].RecoverySeconds, s.Storms[0].StillDown = 0, 3
	}
	th, _ := fleet.ParseThreshold("publish_p99<1s")
	s.Thresholds = []fleet.ThresholdResult{th.Evaluate(s)}
	return s
}

func TestLoadJSONRoundTrip(t *testing.T) {
	s, err := fleet.Merge(loadSummary("0/2", 3, 2, true, time.Millisecond, 5*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := s.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"publish_attempts": 110`, `"publish_errors": 2`, `"in_flight_at_end": 8`,
		`"publish_latency_ms"`, `"qos1"`, `"all"`, `"publish_latency_histograms"`, `"connections_lost": 5`,
		`"storms"`, `"recovery_seconds": 2`, `"publishes_retried": 1`} {
		if !strings.Contains(b.String(), key) {
			t.Errorf("JSON lacks %s:\n%s", key, b.String())
		}
	}
	got, err := fleet.ReadSummary(&b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, s) {
		t.Errorf("round trip\n got %+v\nwant %+v", got.Load, s.Load)
	}
	p := s.PublishLatencyMS["qos1"]
	if !(p.P50 <= p.P99 && p.P99 <= p.Max) || p.Max != 5 || s.PublishLatency["all"].Count != 3 {
		t.Errorf("latency %+v, all %+v", p, s.PublishLatency["all"])
	}
}

func TestMergeLoad(t *testing.T) {
	a := loadSummary("0/2", 3, 2, true, time.Millisecond, 2*time.Millisecond)
	b := loadSummary("1/2", 2.5, 4, true, 100*time.Millisecond)
	m, err := fleet.Merge(a, b)
	if err != nil {
		t.Fatal(err)
	}
	if m.PublishAttempts != 220 || m.PublishErrors != 4 || m.InFlightAtEnd != 16 || m.ConnectionsLost != 10 {
		t.Errorf("counts %+v", m.Load)
	}
	if h := m.PublishLatency["qos1"]; h.Count != 3 || m.PublishLatencyMS["qos1"].Max != 100 || m.PublishLatency["all"].Count != 5 {
		t.Errorf("latency %+v %+v", m.PublishLatencyMS, m.PublishLatency)
	}
	want := fleet.Storm{StartSeconds: 2.5, ConnectionsLost: 10, RecoverySeconds: 4, Recovered: true, PublishesFailed: 4, PublishesRetried: 2}
	if len(m.Storms) != 1 || m.Storms[0] != want {
		t.Errorf("storms %+v, want %+v", m.Storms, want)
	}
	if m.Thresholds != nil {
		t.Errorf("merged thresholds %+v: they are evaluated on the merged summary", m.Thresholds)
	}
	// One shard still down: the merged storm is not recovered.
	m, _ = fleet.Merge(a, loadSummary("1/2", 2.5, 4, false, 100*time.Millisecond))
	if st := m.Storms[0]; st.Recovered || st.RecoverySeconds != 0 || st.StillDown != 3 {
		t.Errorf("storm with a shard still down %+v", st)
	}
	mm, err := fleet.Merge(m)
	if err != nil || !reflect.DeepEqual(mm.Load, m.Load) {
		t.Errorf("Merge(Merge(a, b)) differs: %v\n%+v\n%+v", err, mm.Load, m.Load)
	}
	var text bytes.Buffer
	m.WriteText(&text)
	for _, want := range []string{"publishes:  220 accepted = 200 completed + 4 failed + 16 in flight at the end",
		"publish latency ms qos1", "connections lost: 10, in 1 storm(s)", "3 still down at the end"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text summary lacks %q:\n%s", want, text.String())
		}
	}
}
