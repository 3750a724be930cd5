package fleet_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/devicejs/devicejs"
	"github.com/devicejs/devicejs/fleet"
	"github.com/devicejs/devicejs/internal/testbroker"
)

// e2eScript subscribes to e2e/# and, once subscribed, publishes five distinct messages at QoS 1
// on e2e/<its index>, one after the other, and one on other/<index> that the probe ignores.
const e2eScript = `var c = mqtt.connect('mqtt://broker.example:1883', {clientId: 'e'});
var k = 0;
function next() {
  if (k === 5) { c.publish('other/' + IDX, 'o', {qos: 1}); return; }
  c.publish('e2e/' + IDX, IDX + '-' + k++, {qos: 1}, function (err) { if (err.code === 0) next(); });
}
c.on('connect', function () {
  c.subscribe('e2e/#', {qos: 1}, function () { setTimeout(next, 300); });
});`

// TestE2EProbe: with E2EFilter, every receipt by an instance of a message an instance published
// on a matching topic is timed; the summary, its text, Merge and the thresholds carry it; and
// without E2EFilter the summary has no e2e figures.
func TestE2EProbe(t *testing.T) {
	const n = 10
	for _, tc := range []struct {
		name   string
		filter string
	}{
		{"probe on", "e2e/+"},
		{"probe off", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tb := testbroker.Mochi(t)
			f, err := fleet.New(fleet.Config{N: n, Script: devicejs.Script{Name: "e.js", Source: e2eScript},
				Device: devicejs.Config{Embedded: tb.MochiBroker(), For: 3 * time.Second}, Defines: []string{"IDX={i}"},
				E2EFilter: tc.filter})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
			defer cancel()
			s, err := f.Run(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if s.Published != n*6 {
				t.Fatalf("published %d, want %d; summary %+v", s.Published, n*6, s)
			}
			if tc.filter == "" {
				if s.E2E != nil {
					t.Errorf("e2e figures without a probe: %+v", s.E2E)
				}
				return
			}
			e := s.E2E
			if e == nil {
				t.Fatal("no e2e figures")
			}
			// Every instance subscribed 300 ms before its first publish: each message reaches
			// its publisher and, unless the machine is slow to start them all, every instance
			// (n*n*5 receipts in all).
			if e.Sent != n*5 || e.Latency.Count < n*5 || e.Latency.Count > n*n*5 || e.Unmatched != 0 || e.Filter != tc.filter {
				t.Errorf("e2e sent %d, received %d, unmatched %d; want %d, %d to %d, 0", e.Sent, e.Latency.Count, e.Unmatched, n*5, n*5, n*n*5)
			}
			t.Logf("e2e: %d receipts of %d publishes (%d if every instance got every one)", e.Latency.Count, e.Sent, n*n*5)
			if p := e.LatencyMS; p.P50 <= 0 || p.P50 > p.P99 || p.P99 > p.Max || p.Max > 10000 {
				t.Errorf("e2e percentiles %+v", p)
			}
			var text bytes.Buffer
			s.WriteText(&text)
			if !strings.Contains(text.String(), "end-to-end latency ms (e2e/+)") {
				t.Errorf("text summary:\n%s", text.String())
			}
			m, err := fleet.Merge(s, s2(s))
			if err != nil {
				t.Fatal(err)
			}
			if m.E2E.Latency.Count != 2*e.Latency.Count || m.E2E.Sent != 2*e.Sent || m.E2E.LatencyMS.Max != e.LatencyMS.Max {
				t.Errorf("merged e2e %+v", m.E2E)
			}
			for expr, held := range map[string]bool{"e2e_p99<10s": true, "e2e_p50<1us": false, "e2e_max>=0ms": true} {
				th, err := fleet.ParseThreshold(expr)
				if err != nil {
					t.Fatal(err)
				}
				if r := th.Evaluate(s); r.Held != held || r.NoData {
					t.Errorf("%s: %+v, want held %v", expr, r, held)
				}
			}
		})
	}
}

// s2 is s as another shard's summary.
func s2(s fleet.Summary) fleet.Summary {
	s.Shards = []string{"other"}
	e := *s.E2E
	s.E2E = &e
	return s
}

// TestE2EThresholdNoData: e2e_p99 on a summary without a probe has no data and is crossed.
func TestE2EThresholdNoData(t *testing.T) {
	th, err := fleet.ParseThreshold("e2e_p99<500ms")
	if err != nil {
		t.Fatal(err)
	}
	if r := th.Evaluate(fleet.Summary{}); r.Held || !r.NoData {
		t.Errorf("%+v", r)
	}
}

// TestE2EProbeSubscriber: with E2ESubscriberURL the fleet's own subscriber receives the
// instances' publishes (which no instance subscribes to): each is timed once; the probe is in
// no instance count; a bad URL, or one without a filter, is refused by New.
func TestE2EProbeSubscriber(t *testing.T) {
	const n = 8
	tb := testbroker.Mochi(t)
	src := `var c = mqtt.connect('mqtt://broker.example:1883', {clientId: 'p'});
var k = 0;
function next() { if (k < 5) c.publish('readings/' + IDX, IDX + '-' + k++, {qos: 1}, function () { next(); }); }
c.on('connect', function () { setTimeout(next, 500); });`
	f, err := fleet.New(fleet.Config{N: n, Script: devicejs.Script{Name: "p.js", Source: src},
		Device: devicejs.Config{Embedded: tb.MochiBroker(), For: 3 * time.Second}, Defines: []string{"IDX={i}"},
		E2EFilter: "readings/#", E2ESubscriberURL: "mqtt://broker.example:1883"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	s, err := f.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s.Instances != n || s.Connected != n || s.Received != 0 || s.Published != n*5 {
		t.Errorf("instances %d connected %d received %d published %d: the probe is not an instance", s.Instances, s.Connected, s.Received, s.Published)
	}
	// The probe subscribes as soon as it connects, before the instances' first publish (500 ms
	// after their connect) unless the machine is very slow: each publish is received once.
	if e := s.E2E; e == nil || e.Sent != n*5 || e.Latency.Count == 0 || e.Latency.Count > n*5 || e.Unmatched != 0 {
		t.Errorf("e2e %+v, want %d sent and received at most once each", s.E2E, n*5)
	} else {
		t.Logf("e2e: %d receipts of %d publishes", e.Latency.Count, e.Sent)
	}

	for _, tc := range []struct{ filter, url string }{
		{"", "mqtt://b:1883"}, {"a/#", "http://b:1883"}, {"a/#", "mqtt://"}, {"a/#", "mqtt://b:0"},
		{"a/#", "mqtt://b:1883/path"}, {"a/#", "mqtt://u:p@b"}, {"a/#", "::"},
	} {
		if _, err := fleet.New(fleet.Config{N: 1, Script: devicejs.Script{Source: src}, E2EFilter: tc.filter, E2ESubscriberURL: tc.url}); err == nil {
			t.Errorf("New accepted E2EFilter %q, E2ESubscriberURL %q", tc.filter, tc.url)
		}
	}
	if err := fleet.ValidateProbeURL("mqtts://broker.example:8883"); err != nil {
		t.Error(err)
	}
}
