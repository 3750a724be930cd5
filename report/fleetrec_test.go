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
