package cli_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/devicejs/devicejs/internal/testbroker"
)

// meterJS is issue 21's smart meter: a JSON reading with a sequence number every 10 s (device
// time) at QoS 1 on meters/<id>/reading, and a per-device command topic answered on a reply
// topic. The first instance of each shard (PROBE) subscribes to every reading, as the back end
// would, for --e2e-probe; so does the fleet's own --e2e-subscriber.
const meterJS = `var c = mqtt.connect('mqtt://meters.example:1883', {clientId: 'meter', reconnectCount: 1855, reconnectPeriod: 1000});
var seq = 0, subscribed = false;
c.on('connect', function () {
  c.subscribe('meters/' + DEVICE_ID + '/cmd', {qos: 1});
  if (DEVICE_INDEX === PROBE) c.subscribe('meters/+/reading', {qos: 1});
  if (!subscribed) {
    subscribed = true;
    setInterval(function () {
      if (c.canPublish()) c.publish('meters/' + DEVICE_ID + '/reading', JSON.stringify({seq: seq++, kwh: DEVICE_INDEX * 0.5}), {qos: 1});
    }, 10000);
  }
});
c.on('message', function (topic, payload) {
  if (topic === 'meters/' + DEVICE_ID + '/cmd') c.publish('meters/' + DEVICE_ID + '/reply', payload, {qos: 1});
});`

// scenarioSize is the fleet of TestFleetScenario: 160 devices in the default suite,
// DEVICEJS_FLEET_SCENARIO_N (make fleet-scenario: 2,000) otherwise.
func scenarioSize(t *testing.T) int {
	if v := os.Getenv("DEVICEJS_FLEET_SCENARIO_N"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 4 {
			t.Fatalf("DEVICEJS_FLEET_SCENARIO_N=%q: want a whole number >= 4", v)
		}
		return n
	}
	return 160
}

// TestFleetScenario is issue 21's "Done when" scenario: a fleet of smart meters in four shard
// processes (as a Kubernetes Indexed Job runs them) against mosquitto, restarted mid-run; each
// shard writes key=value progress lines (stderr is not a terminal), shard 0 serves --metrics
// (scraped), every shard evaluates a threshold that holds (publish_p99<20s) and one that the
// restart crosses (connections_lost<1: exit 4); `fleet merge` refuses the set with one shard
// missing, merges it with --allow-partial, and merges all four with the thresholds again.
func TestFleetScenario(t *testing.T) {
	t.Parallel()
	n := scenarioSize(t)
	b := testbroker.Mosquitto(t)
	js := script(t, "meter.js", meterJS)
	dir := t.TempDir()
	const shards = 4
	type shard struct {
		cmd             *exec.Cmd
		stderr, summary string
		done            chan error
		lo, hi          int
	}
	var sh [shards]*shard
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	for k := range shards {
		s := &shard{stderr: filepath.Join(dir, fmt.Sprintf("err%d.txt", k)), summary: filepath.Join(dir, fmt.Sprintf("s%d.json", k)),
			done: make(chan error, 1), lo: k * n / shards, hi: (k + 1) * n / shards}
		args := []string{"fleet", "-n", strconv.Itoa(n), "--shard", fmt.Sprintf("%d/%d", k, shards), "--broker", b.Addr(),
			"--client-id", "meter-{i}", "--define", "DEVICE_INDEX={i}", "--define", "DEVICE_ID={id}",
			"--define", "PROBE=" + strconv.Itoa(s.lo), "--time-scale", "10", "--for", "120s", "--ramp", "1s", "--quiet",
			"--progress-interval", "500ms", "--e2e-probe", "meters/+/reading", "--e2e-subscriber", "mqtt://meters.example:1883",
			"--threshold", "publish_p99<20s", "--threshold", "connections_lost<1", "--summary-json", s.summary}
		if k == 0 {
			args = append(args, "--metrics", "127.0.0.1:0")
		}
		s.cmd = exec.CommandContext(ctx, binary, append(args, js)...)
		f, err := os.Create(s.stderr)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		s.cmd.Stderr = f
		if err := s.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() { s.done <- s.cmd.Wait() }()
		sh[k] = s
	}
	defer func() {
		for _, s := range sh {
			s.cmd.Process.Kill()
		}
	}()
	stderrOf := func(k int) string { b, _ := os.ReadFile(sh[k].stderr); return string(b) }

	// All connected, as the progress lines say; then shard 0's metrics.
	deadline := time.Now().Add(60 * time.Second)
	for k := range shards {
		for {
			lines := parseProgress(t, stderrOf(k))
			if len(lines) > 0 && lines[len(lines)-1]["connected"] == strconv.Itoa(sh[k].hi-sh[k].lo) &&
				lines[len(lines)-1]["published"] != "0" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("shard %d: not all connected and publishing after 60 s:\n%s", k, stderrOf(k))
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	var url string
	for _, l := range strings.Split(stderrOf(0), "\n") {
		if u, ok := strings.CutPrefix(l, "devicejs: metrics at "); ok {
			url = u
		}
	}
	if url == "" {
		t.Fatalf("shard 0 printed no metrics address:\n%s", stderrOf(0))
	}
	fams := scrape(t, &http.Client{Timeout: 20 * time.Second}, url)
	if v, _ := metricValue(fams, "devicejs_fleet_instances_connected"); int(v) != sh[0].hi-sh[0].lo {
		t.Errorf("scraped connected %v, want %d", v, sh[0].hi-sh[0].lo)
	}
	if v, _ := metricValue(fams, "devicejs_fleet_publishes_total"); v == 0 {
		t.Errorf("scraped no publish")
	}

	restartAt := time.Now()
	b.Restart()
	for k, s := range sh {
		select {
		case err := <-s.done:
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 4 {
				t.Errorf("shard %d: %v, want exit 4 (connections_lost<1 crossed); stderr:\n%s", k, err, stderrOf(k))
			}
		case <-ctx.Done():
			t.Fatalf("shard %d still running; stderr:\n%s", k, stderrOf(k))
		}
	}
	t.Logf("%d devices in %d shards; restart %.1fs before the last shard ended", n, shards, time.Since(restartAt).Seconds())

	var lost uint64
	for k, s := range sh {
		sum := readSummaryFile(t, s.summary)
		if sum.Instances != s.hi-s.lo || sum.Connected != sum.Instances {
			t.Errorf("shard %d: instances %d connected %d", k, sum.Instances, sum.Connected)
		}
		if sum.Published+sum.PublishErrors+sum.InFlightAtEnd != sum.PublishAttempts || sum.PublishAttempts == 0 {
			t.Errorf("shard %d: attempts %d != published %d + errors %d + in flight %d", k, sum.PublishAttempts, sum.Published, sum.PublishErrors, sum.InFlightAtEnd)
		}
		if len(sum.Storms) == 0 || !sum.Storms[0].Recovered || sum.Storms[0].StillDown != 0 {
			t.Errorf("shard %d: storms %+v, want the restart, recovered", k, sum.Storms)
		}
		if len(sum.Thresholds) != 2 || !sum.Thresholds[0].Held || sum.Thresholds[1].Held {
			t.Errorf("shard %d: thresholds %+v, want the first held, the second crossed", k, sum.Thresholds)
		}
		if sum.E2E == nil || sum.E2E.Latency.Count < sum.E2E.Sent { // two receivers of each reading: the probe instance and --e2e-subscriber
			t.Errorf("shard %d: e2e %+v", k, sum.E2E)
		}
		lost += sum.ConnectionsLost
		lines := parseProgress(t, stderrOf(k))
		if len(lines) < 4 {
			t.Errorf("shard %d: %d progress lines", k, len(lines))
		}
		if !strings.Contains(stderrOf(k), "CROSSED") || !strings.Contains(stderrOf(k), "storm 1 at") {
			t.Errorf("shard %d: text summary:\n%s", k, stderrOf(k))
		}
	}
	if lost != uint64(n) {
		t.Errorf("connections lost %d, want %d (every device once)", lost, n)
	}

	// fleet merge: one shard missing is refused, naming it; --allow-partial merges the rest.
	parts := []string{sh[0].summary, sh[1].summary, sh[3].summary}
	r := runBinary(t, append([]string{"fleet", "merge"}, parts...)...)
	if r.code != 2 || !strings.Contains(r.stderr, "2/4") {
		t.Errorf("merge with 2/4 missing: exit %d, want 2 naming 2/4; stderr:\n%s", r.code, r.stderr)
	}
	partial := filepath.Join(dir, "partial.json")
	r = runBinary(t, append([]string{"fleet", "merge", "--allow-partial", "--summary-json", partial}, parts...)...)
	if r.code != 0 || readSummaryFile(t, partial).Instances != n-(sh[2].hi-sh[2].lo) {
		t.Errorf("merge --allow-partial: exit %d; stderr:\n%s", r.code, r.stderr)
	}
	all := filepath.Join(dir, "fleet.json")
	r = runBinary(t, "fleet", "merge", "--threshold", "publish_p99<20s", "--threshold", "connections_lost<1", "--summary-json", all,
		sh[0].summary, sh[1].summary, sh[2].summary, sh[3].summary)
	if r.code != 4 {
		t.Errorf("merge of all four with a crossed threshold: exit %d, want 4; stderr:\n%s", r.code, r.stderr)
	}
	m := readSummaryFile(t, all)
	if m.Instances != n || m.ConnectionsLost != uint64(n) || len(m.Storms) == 0 || !m.Storms[0].Recovered || m.E2E == nil {
		t.Errorf("merged: instances %d, connections lost %d, storms %+v, e2e %+v", m.Instances, m.ConnectionsLost, m.Storms, m.E2E)
	}
	t.Logf("merged: published %d, attempts %d, errors %d, in flight at end %d; publish p99 %.1f ms; e2e p99 %.1f ms (%d receipts of %d readings, %d unmatched); dropped by receivers %d; storm %+v",
		m.Published, m.PublishAttempts, m.PublishErrors, m.InFlightAtEnd, m.PublishLatencyMS["all"].P99, m.E2E.LatencyMS.P99,
		m.E2E.Latency.Count, m.E2E.Sent, m.E2E.Unmatched, m.Dropped, m.Storms[0])
}
