package report_test

import (
	"testing"
	"time"

	"github.com/devicejs/devicejs/fleet"
	"github.com/devicejs/devicejs/mqttcore"
	"github.com/devicejs/devicejs/report"
)

// TestFleetRecorder: per-client connect latency counts the first attempt to the first CONNACK
// only; errors are keyed as the fleet keys them; samples come from Progress; Fill and Snapshot
// carry them.
func TestFleetRecorder(t *testing.T) {
	r := report.NewFleetRecorder()
	r.Stop() // before Start: nothing to stop
	r.Trace(mqttcore.TraceEvent{Kind: mqttcore.TraceConnectAttempt, ClientID: "slow"})
	r.Trace(mqttcore.TraceEvent{Kind: mqttcore.TraceConnectAttempt, ClientID: "fast"})
	r.Trace(mqttcore.TraceEvent{Kind: mqttcore.TraceConnack, ClientID: "never-attempted"})
	time.Sleep(20 * time.Millisecond)
	r.Trace(mqttcore.TraceEvent{Kind: mqttcore.TraceConnectAttempt, ClientID: "slow"}) // a retry: not a new start
	r.Trace(mqttcore.TraceEvent{Kind: mqttcore.TraceConnack, ClientID: "fast"})
	time.Sleep(30 * time.Millisecond)
	r.Trace(mqttcore.TraceEvent{Kind: mqttcore.TraceConnack, ClientID: "slow"})
	r.Trace(mqttcore.TraceEvent{Kind: mqttcore.TraceConnack, ClientID: "fast"}) // a reconnection: not counted
	r.Trace(mqttcore.TraceEvent{Kind: mqttcore.TracePublishDone, ClientID: "fast", Code: 12})
	r.Trace(mqttcore.TraceEvent{Kind: mqttcore.TracePublishDone, ClientID: "fast", Code: 0})
	r.Trace(mqttcore.TraceEvent{Kind: mqttcore.TraceError, ClientID: "slow", Code: 1})

	var polls int
	r.Start(func() fleet.Progress {
		polls++
		return fleet.Progress{Started: 2, Connected: 2, Received: uint64(polls)}
	}, time.Hour)
	r.Stop()
	r.Stop()
	var s fleet.Summary
	r.Fill(&s)
	if len(s.Series) != 2 || s.Series[1].Received != 2 || s.Series[0].Started != 2 {
		t.Errorf("series %+v, want the first and the last sample", s.Series)
	}
	if len(s.Slowest) != 2 || s.Slowest[0].ClientID != "slow" || s.Slowest[1].ClientID != "fast" {
		t.Fatalf("slowest %+v", s.Slowest)
	}
	if s.Slowest[0].LatencyMS < 50 || s.Slowest[1].LatencyMS < 20 || s.Slowest[1].LatencyMS >= s.Slowest[0].LatencyMS {
		t.Errorf("latencies %+v: slow >= 50 ms from its first attempt, fast >= 20 ms", s.Slowest)
	}
	snap := r.Snapshot(10, 2)
	if snap.Connected != 2 || snap.ConnectLatency.Count != 2 || snap.Errors["publish:12"] != 1 || snap.Errors["error:1"] != 1 || len(snap.Errors) != 2 {
		t.Errorf("snapshot %+v", snap)
	}
	if snap.ConnectLatencyMS.Max < 50 || snap.Received != 2 || snap.FleetSize != 10 || snap.Instances != 2 {
		t.Errorf("snapshot figures %+v", snap)
	}
}

// TestFleetRecorderEndOfRun: a publish completed with an error after its session ended (the
// run's end: --for, a signal, client.end()) is in flight at the end, not an error, as the
// fleet's summary counts it; a reconnection of the same clientId makes its errors errors again.
func TestFleetRecorderEndOfRun(t *testing.T) {
	pub := func(id string, code mqttcore.Code) mqttcore.TraceEvent {
		return mqttcore.TraceEvent{Kind: mqttcore.TracePublishDone, ClientID: id, Code: code}
	}
	end := func(id string) mqttcore.TraceEvent { return mqttcore.TraceEvent{Kind: mqttcore.TraceEnd, ClientID: id} }
	connack := func(id string) mqttcore.TraceEvent {
		return mqttcore.TraceEvent{Kind: mqttcore.TraceConnack, ClientID: id}
	}
	for _, tc := range []struct {
		name        string
		events      []mqttcore.TraceEvent
		errors      map[string]uint64
		inFlightEnd uint64
	}{
		{"failed while live", []mqttcore.TraceEvent{connack("a"), pub("a", 11)}, map[string]uint64{"publish:11": 1}, 0},
		{"completed by the end", []mqttcore.TraceEvent{connack("a"), pub("a", 0), end("a"), pub("a", 11), pub("a", 11)}, map[string]uint64{}, 2},
		{"one ended, one live", []mqttcore.TraceEvent{connack("a"), connack("b"), end("a"), pub("a", 11), pub("b", 11)}, map[string]uint64{"publish:11": 1}, 1},
		{"ended then a new session", []mqttcore.TraceEvent{connack("a"), end("a"), pub("a", 11), connack("a"), pub("a", 12)}, map[string]uint64{"publish:12": 1}, 1},
		{"successes are neither", []mqttcore.TraceEvent{end("a"), pub("a", 0)}, map[string]uint64{}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := report.NewFleetRecorder()
			for _, e := range tc.events {
				r.Trace(e)
			}
			s := r.Snapshot(2, 2)
			if len(s.Errors) != len(tc.errors) {
				t.Errorf("errors %v, want %v", s.Errors, tc.errors)
			}
			var want uint64
			for k, v := range tc.errors {
				want += v
				if s.Errors[k] != v {
					t.Errorf("errors %v, want %v", s.Errors, tc.errors)
				}
			}
			if s.InFlightAtEnd != tc.inFlightEnd || s.PublishErrors != want {
				t.Errorf("in flight at the end %d, publish errors %d; want %d, %d", s.InFlightAtEnd, s.PublishErrors, tc.inFlightEnd, want)
			}
		})
	}
}

// TestFleetRecorderLatencySeries: with SetLoad, each sample carries the publish and end-to-end
// latency percentiles of its interval only (absent for an interval with none), and the live
// snapshot the fleet's load figures.
func TestFleetRecorderLatencySeries(t *testing.T) {
	hist := func(ds ...time.Duration) fleet.Histogram {
		var h fleet.Histogram
		for _, d := range ds {
			h.Add(d)
		}
		return h
	}
	ms := time.Millisecond
	readings := []fleet.Load{
		{}, // the first sample: nothing yet
		{PublishLatency: map[string]fleet.Histogram{"all": hist(10*ms, 10*ms, 10*ms)}},
		{PublishLatency: map[string]fleet.Histogram{"all": hist(10*ms, 10*ms, 10*ms, 500*ms, 500*ms)},
			E2E: &fleet.E2E{Latency: hist(40 * ms)}},
		{PublishLatency: map[string]fleet.Histogram{"all": hist(10*ms, 10*ms, 10*ms, 500*ms, 500*ms)},
			E2E: &fleet.E2E{Latency: hist(40 * ms)}, InFlightAtEnd: 3}, // an interval without completions
	}
	k := 0
	r := report.NewFleetRecorder()
	r.SetLoad(func() fleet.Load { ld := readings[min(k, len(readings)-1)]; k++; return ld })
	r.Start(func() fleet.Progress { return fleet.Progress{} }, 20*time.Millisecond)
	deadline := time.Now().Add(20 * time.Second)
	for {
		var s fleet.Summary
		r.Fill(&s)
		if len(s.Series) >= 4 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	r.Stop()
	var s fleet.Summary
	r.Fill(&s)
	if len(s.Series) < 4 {
		t.Fatalf("%d samples", len(s.Series))
	}
	near := func(got, want float64) bool { return got >= want*0.9 && got <= want*1.1 }
	x := s.Series
	if x[0].PublishP50MS != 0 || x[0].E2EP99MS != 0 {
		t.Errorf("sample 0 %+v", x[0])
	}
	if !near(x[1].PublishP50MS, 10) || !near(x[1].PublishP99MS, 10) || x[1].E2EP50MS != 0 {
		t.Errorf("sample 1 %+v, want p50 = p99 = 10 ms, no e2e", x[1])
	}
	if !near(x[2].PublishP50MS, 500) || !near(x[2].PublishP99MS, 500) || !near(x[2].E2EP99MS, 40) {
		t.Errorf("sample 2 %+v, want the interval's 500 ms only, e2e 40 ms", x[2])
	}
	if x[3].PublishP50MS != 0 || x[3].E2EP50MS != 0 {
		t.Errorf("sample 3 %+v: no completions in the interval", x[3])
	}
	if snap := r.Snapshot(1, 1); snap.InFlightAtEnd != 3 || snap.E2E == nil {
		t.Errorf("snapshot load %+v", snap.Load)
	}
}
