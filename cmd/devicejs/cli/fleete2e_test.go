package cli_test

import (
	"path/filepath"
	"strings"
	"testing"
)

// e2eJS: instance 0 is the probe (it subscribes to meters/#); every instance publishes a
// distinct reading at QoS 1 every 100 ms on meters/<clientId>.
const e2eJS = `var c = mqtt.connect('mqtt://localhost:1883', {clientId: 'm', reconnectCount: 1855});
var seq = 0;
c.on('connect', function () {
  if (DEVICE_INDEX === 0) c.subscribe('meters/#', {qos: 1});
  setInterval(function () {
    if (c.canPublish()) c.publish('meters/' + DEVICE_ID, JSON.stringify({seq: seq++}), {qos: 1});
  }, 100);
});`

// TestFleetE2EProbe: --e2e-probe times the readings to the probe instance: the summary JSON,
// the text summary and the settings carry it, and e2e thresholds are evaluated (one holds, one
// is crossed: exit 4).
func TestFleetE2EProbe(t *testing.T) {
	t.Parallel()
	js := script(t, "meter.js", e2eJS)
	sj := filepath.Join(t.TempDir(), "s.json")
	r := runBinary(t, "fleet", "-n", "5", "--broker", "embedded", "--quiet", "--client-id", "m-{i}",
		"--define", "DEVICE_INDEX={i}", "--define", "DEVICE_ID={id}", "--e2e-probe", "meters/+",
		"--threshold", "e2e_p99<30s", "--threshold", "e2e_p50<1us", "--summary-json", sj,
		"--report", filepath.Join(filepath.Dir(sj), "r.html"), "--for", "3s", js)
	if r.code != 4 {
		t.Fatalf("exit %d, want 4 (e2e_p50<1us crossed); stderr:\n%s", r.code, r.stderr)
	}
	s := readSummaryFile(t, sj)
	e := s.E2E
	if e == nil || e.Filter != "meters/+" || e.Sent == 0 || e.Latency.Count == 0 || e.Latency.Count > e.Sent {
		t.Fatalf("e2e %+v", e)
	}
	if p := e.LatencyMS; !(p.P50 > 0 && p.P50 <= p.P99 && p.P99 <= p.Max) {
		t.Errorf("e2e percentiles %+v", p)
	}
	if s.Settings == nil || s.Settings.E2EProbe != "meters/+" {
		t.Errorf("settings %+v", s.Settings)
	}
	if len(s.Thresholds) != 2 || !s.Thresholds[0].Held || s.Thresholds[1].Held {
		t.Errorf("thresholds %+v", s.Thresholds)
	}
	if !strings.Contains(r.stderr, "end-to-end latency ms (meters/+)") {
		t.Errorf("text summary:\n%s", r.stderr)
	}
	// --report records the latency of each one-second interval in the series.
	var pubSamples, e2eSamples int
	for _, x := range s.Series {
		if x.PublishP50MS > 0 && x.PublishP50MS <= x.PublishP99MS {
			pubSamples++
		}
		if x.E2EP50MS > 0 && x.E2EP50MS <= x.E2EP99MS {
			e2eSamples++
		}
	}
	if pubSamples < 2 || e2eSamples < 2 {
		t.Errorf("series %+v: %d samples with publish latency, %d with e2e, want at least 2 each", s.Series, pubSamples, e2eSamples)
	}
	d := embeddedData(t, filepath.Join(filepath.Dir(sj), "r.html"))
	if d.Fleet == nil || d.Fleet.Summary.E2E == nil || len(d.Fleet.Summary.Series) != len(s.Series) {
		t.Errorf("report data lacks the e2e figures or the series")
	}
	t.Logf("e2e: %d received of %d sent, %+v", e.Latency.Count, e.Sent, e.LatencyMS)
}

// TestFleetE2EProbeMalformed: a malformed --e2e-probe is a usage error naming it (exit 2), and
// the fleet does not run.
func TestFleetE2EProbeMalformed(t *testing.T) {
	t.Parallel()
	js := script(t, "meter.js", e2eJS)
	for _, bad := range []string{"", "a/#/b", "a#", "a+/b", "a/b+", "\xff"} {
		r := runBinary(t, "fleet", "-n", "1", "--broker", "embedded", "--for", "1s", "--e2e-probe", bad,
			"--define", "DEVICE_INDEX={i}", "--define", "DEVICE_ID=x", js)
		if r.code != 2 || !strings.Contains(r.stderr, "--e2e-probe") {
			t.Errorf("--e2e-probe %q: exit %d, want 2 naming the flag; stderr:\n%s", bad, r.code, r.stderr)
		}
		if strings.Contains(r.stderr, "fleet: 1 of 1") {
			t.Errorf("--e2e-probe %q: the fleet ran", bad)
		}
	}
}

// TestFleetE2ESubscriber: --e2e-subscriber adds the fleet's own probe subscriber, so readings
// that no instance subscribes to are timed; malformed or without --e2e-probe it is a usage
// error naming it.
func TestFleetE2ESubscriber(t *testing.T) {
	t.Parallel()
	js := script(t, "plain.js", `var c = mqtt.connect('mqtt://localhost:1883', {clientId: 'p'});
var seq = 0;
c.on('connect', function () {
  setTimeout(function () { setInterval(function () { if (c.canPublish()) c.publish('meters/' + ID, String(seq++), {qos: 1}); }, 100); }, 300);
});`)
	sj := filepath.Join(t.TempDir(), "s.json")
	r := runBinary(t, "fleet", "-n", "4", "--broker", "embedded", "--for", "2s", "--quiet", "--define", "ID={i}",
		"--e2e-probe", "meters/#", "--e2e-subscriber", "mqtt://probe.example:1883", "--summary-json", sj, js)
	if r.code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", r.code, r.stderr)
	}
	s := readSummaryFile(t, sj)
	if e := s.E2E; e == nil || e.Sent == 0 || e.Latency.Count == 0 || e.Latency.Count > e.Sent || s.Received != 0 {
		t.Errorf("e2e %+v, received by instances %d", s.E2E, s.Received)
	}
	if s.Settings == nil || s.Settings.E2ESubscriber != "mqtt://probe.example:1883" {
		t.Errorf("settings %+v", s.Settings)
	}
	for _, args := range [][]string{
		{"--e2e-subscriber", "mqtt://b:1883"},
		{"--e2e-probe", "m/#", "--e2e-subscriber", "http://b:1883"},
		{"--e2e-probe", "m/#", "--e2e-subscriber", ""},
		{"--e2e-probe", "m/#", "--e2e-subscriber", "mqtt://b:99999"},
	} {
		r := runBinary(t, append(append([]string{"fleet", "-n", "1", "--broker", "embedded", "--for", "1s", "--define", "ID=1"}, args...), js)...)
		if r.code != 2 || !strings.Contains(r.stderr, "--e2e-subscriber") {
			t.Errorf("%q: exit %d, want 2 naming --e2e-subscriber; stderr:\n%s", args, r.code, r.stderr)
		}
	}
}
