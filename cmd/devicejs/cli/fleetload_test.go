package cli_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/devicejs/devicejs/fleet"
	"github.com/devicejs/devicejs/internal/testbroker"
)

// pubScript publishes QoS 1 every period ms whenever no publish is in flight, prints ACCEPTED
// for each publish the session accepted, and publishes a failed one again (same topic).
func pubScript(period int) string {
	return `var client = mqtt.connect('mqtt://localhost:1883', {clientId: 'd', reconnectPeriod: 200, reconnectCount: 1855});
var seq = 0, retry = null, timer = null;
function tick() {
  if (!client.canPublish()) return;
  var topic = retry || ('t/' + seq++);
  var r = client.publish(topic, 'x', {qos: 1}, function (err) { if (err && err.code > 0) retry = topic; });
  if (r === undefined) { retry = null; print('ACCEPTED'); }
}
client.on('connect', function () { if (!timer) timer = setInterval(tick, ` + strconv.Itoa(period) + `); });
`
}

// readSummaryFile decodes a --summary-json file.
func readSummaryFile(t *testing.T, path string) fleet.Summary {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s, err := fleet.ReadSummary(f)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// checkAccounting checks that every accepted publish (ACCEPTED lines of stdout) is in exactly
// one of published, publish_errors and in_flight_at_end.
func checkAccounting(t *testing.T, s fleet.Summary, stdout string) {
	t.Helper()
	accepted := uint64(strings.Count(stdout, "ACCEPTED"))
	if s.PublishAttempts != accepted || s.Published+s.PublishErrors+s.InFlightAtEnd != accepted {
		t.Errorf("accepted %d, publish_attempts %d = published %d + errors %d + in flight at end %d",
			accepted, s.PublishAttempts, s.Published, s.PublishErrors, s.InFlightAtEnd)
	}
	var pubErrs uint64
	for k, n := range s.Errors {
		if strings.HasPrefix(k, "publish:") {
			pubErrs += n
		}
	}
	if pubErrs != s.PublishErrors {
		t.Errorf("errors %v, publish_errors %d", s.Errors, s.PublishErrors)
	}
}

func TestFleetThresholds(t *testing.T) {
	t.Parallel()
	js := script(t, "pub.js", pubScript(20))
	dir := t.TempDir()
	for _, tc := range []struct {
		name       string
		thresholds []string
		code       int
		held       []bool
	}{
		{"one holds, one crossed", []string{"publish_p99<30s", "errors_rate>50%"}, 4, []bool{true, false}},
		{"all hold", []string{"publish_qos1_p99<30s", "connect_p99<30s", "errors_rate<=0.1%", "in_flight_at_end<=3"}, 0,
			[]bool{true, true, true, true}},
		{"no data is crossed", []string{"publish_qos2_p99<30s"}, 4, []bool{false}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sj := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".json")
			args := []string{"fleet", "-n", "3", "--broker", "embedded", "--for", "1s", "--summary-json", sj}
			for _, th := range tc.thresholds {
				args = append(args, "--threshold", th)
			}
			r := runBinary(t, append(args, js)...)
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d; stderr:\n%s", r.code, tc.code, r.stderr)
			}
			s := readSummaryFile(t, sj)
			if len(s.Thresholds) != len(tc.thresholds) {
				t.Fatalf("thresholds %+v", s.Thresholds)
			}
			for i, res := range s.Thresholds {
				if res.Threshold != tc.thresholds[i] || res.Held != tc.held[i] {
					t.Errorf("threshold %d: %+v, want %q held %v", i, res, tc.thresholds[i], tc.held[i])
				}
				verdict := "held"
				if !res.Held {
					verdict = "CROSSED"
					if !strings.Contains(r.stderr, "devicejs: ") || !strings.Contains(r.stderr, tc.thresholds[i]) {
						t.Errorf("stderr does not name the crossed %q:\n%s", tc.thresholds[i], r.stderr)
					}
				}
				if !strings.Contains(r.stderr, tc.thresholds[i]+": ") || !strings.Contains(r.stderr, verdict) {
					t.Errorf("summary text lacks %q %s:\n%s", tc.thresholds[i], verdict, r.stderr)
				}
			}
			// Latency figures: present, ordered, one per publish acknowledged.
			p, h := s.PublishLatencyMS["qos1"], s.PublishLatency["qos1"]
			if h.Count == 0 || h.Count != s.Published || s.PublishLatency["all"].Count != s.Published {
				t.Errorf("latency histogram count %d (all %d), published %d", h.Count, s.PublishLatency["all"].Count, s.Published)
			}
			if !(p.P50 > 0 && p.P50 <= p.P90 && p.P90 <= p.P99 && p.P99 <= p.Max && p.Max < 30000) {
				t.Errorf("qos1 latency %+v", p)
			}
			if !strings.Contains(r.stderr, "publish latency ms qos1: p50") {
				t.Errorf("text summary lacks the latency:\n%s", r.stderr)
			}
			checkAccounting(t, s, r.stdout)
			if tc.code == 0 {
				// The same summary through fleet merge, with a threshold that holds and one that does not.
				if r := runBinary(t, "fleet", "merge", "--threshold", "publish_p99<30s", sj); r.code != 0 {
					t.Errorf("merge with a threshold that holds: exit %d\n%s", r.code, r.stderr)
				}
				if r := runBinary(t, "fleet", "merge", "--threshold", "publish_p99<0.000001ms", sj); r.code != 4 ||
					!strings.Contains(r.stderr, "publish_p99<0.000001ms") {
					t.Errorf("merge with a crossed threshold: exit %d\n%s", r.code, r.stderr)
				}
			}
		})
	}
}

// TestFleetThresholdsWorkers: under --workers the supervisor evaluates the thresholds on the
// merged summary (the workers are not given them) and exits 4.
func TestFleetThresholdsWorkers(t *testing.T) {
	t.Parallel()
	js := script(t, "pub.js", pubScript(20))
	sj := filepath.Join(t.TempDir(), "s.json")
	r := runBinary(t, "fleet", "-n", "4", "--workers", "2", "--broker", "embedded", "--for", "1s", "--summary-json", sj,
		"--threshold", "publish_p99<30s", "--threshold", "errors>0", js)
	if r.code != 4 || !strings.Contains(r.stderr, "1 of 2 thresholds crossed: errors>0: 0, CROSSED") {
		t.Fatalf("exit %d, want 4; stderr:\n%s", r.code, r.stderr)
	}
	s := readSummaryFile(t, sj)
	if len(s.Thresholds) != 2 || !s.Thresholds[0].Held || s.Thresholds[1].Held || len(s.Shards) != 2 {
		t.Errorf("thresholds %+v shards %v", s.Thresholds, s.Shards)
	}
	checkAccounting(t, s, r.stdout)
	if s.PublishLatency["qos1"].Count != s.Published || s.Published == 0 {
		t.Errorf("merged latency count %d, published %d", s.PublishLatency["qos1"].Count, s.Published)
	}
}

func TestFleetThresholdMalformed(t *testing.T) {
	t.Parallel()
	js := script(t, "pub.js", pubScript(20))
	for _, bad := range []string{"", "publish_p99", "publish_p99<<500ms", "publish_p99<500xs", "errors_rate<0.1ms",
		"bogus<1", "publish_p101<1s", "errors<1.5", "errors_rate<NaN"} {
		for _, args := range [][]string{
			{"fleet", "-n", "1", "--broker", "embedded", "--for", "1s", "--threshold", "publish_p99<1s", "--threshold", bad, js},
			{"fleet", "merge", "--threshold", bad, "missing.json"},
		} {
			r := runBinary(t, args...)
			if r.code != 2 || !strings.Contains(r.stderr, "--threshold") || !strings.Contains(r.stderr, `"`+bad+`"`) {
				t.Errorf("%v: exit %d, want 2 naming %q; stderr:\n%s", args[:2], r.code, bad, r.stderr)
			}
			if strings.Contains(r.stdout, "ACCEPTED") {
				t.Errorf("%q: the fleet ran", bad)
			}
		}
	}
}

// TestFleetInFlightAtEnd: publishes in flight when --for ends (a QoS 1 publish every 10 ms
// over a link with 200 ms each way, so one is nearly always awaiting its PUBACK) are counted
// as in flight at the end, not as errors, and every accepted publish is in one bucket.
func TestFleetInFlightAtEnd(t *testing.T) {
	t.Parallel()
	js := script(t, "pub.js", pubScript(10))
	sj := filepath.Join(t.TempDir(), "s.json")
	r := runBinary(t, "fleet", "-n", "4", "--broker", "embedded", "--link", "latency=200ms", "--for", "2s",
		"--summary-json", sj, js)
	if r.code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", r.code, r.stderr)
	}
	s := readSummaryFile(t, sj)
	checkAccounting(t, s, r.stdout)
	if s.PublishErrors != 0 || len(s.Errors) != 0 {
		t.Errorf("errors %v (publish_errors %d): publishes in flight at the end counted as errors", s.Errors, s.PublishErrors)
	}
	if s.InFlightAtEnd == 0 || s.InFlightAtEnd > 4 {
		t.Errorf("in_flight_at_end %d, want 1 to 4 (one per instance at most)", s.InFlightAtEnd)
	}
	if p := s.PublishLatencyMS["qos1"]; p.P50 < 300 || p.Max > 30000 {
		t.Errorf("qos1 latency %+v over a 200 ms link, want about 400 ms", p)
	}
	if !strings.Contains(r.stderr, "in flight at the end") {
		t.Errorf("text summary:\n%s", r.stderr)
	}
}

// TestFleetStorm: a mosquitto restarted mid-run is one storm: every connection lost, all back,
// the time it took, and the publishes it failed and the scripts retried.
func TestFleetStorm(t *testing.T) {
	t.Parallel()
	b := testbroker.Mosquitto(t)
	js := script(t, "pub.js", pubScript(20))
	dir := t.TempDir()
	sj, outPath := filepath.Join(dir, "s.json"), filepath.Join(dir, "out.txt")
	out, err := os.Create(outPath)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	cmd := exec.Command(binary, "fleet", "-n", "4", "--broker", b.Addr(), "--for", "6s", "--summary-json", sj, js)
	var stderr strings.Builder
	cmd.Stdout, cmd.Stderr = out, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		data, _ := os.ReadFile(outPath)
		if strings.Count(string(data), "ACCEPTED") >= 20 {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("no publishes after 30 s:\n%s", data)
		}
		time.Sleep(20 * time.Millisecond)
	}
	b.Restart()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("fleet: %v; stderr:\n%s", err, stderr.String())
		}
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("fleet still running after 60 s; stderr:\n%s", stderr.String())
	}
	s := readSummaryFile(t, sj)
	stdout, _ := os.ReadFile(outPath)
	checkAccounting(t, s, string(stdout))
	if s.ConnectionsLost != 4 || len(s.Storms) != 1 {
		t.Fatalf("connections_lost %d, storms %+v, want 4 in one storm; stderr:\n%s", s.ConnectionsLost, s.Storms, stderr.String())
	}
	st := s.Storms[0]
	if !st.Recovered || st.RecoverySeconds <= 0 || st.RecoverySeconds > 5 || st.StillDown != 0 || st.ConnectionsLost != 4 ||
		st.StartSeconds <= 0 {
		t.Errorf("storm %+v", st)
	}
	if st.PublishesFailed != s.PublishErrors || st.PublishesRetried > st.PublishesFailed {
		t.Errorf("storm failed %d retried %d, publish_errors %d", st.PublishesFailed, st.PublishesRetried, s.PublishErrors)
	}
	if s.Reconnects < 4 {
		t.Errorf("reconnects %d", s.Reconnects)
	}
	if !strings.Contains(stderr.String(), "connections lost: 4, in 1 storm(s)") || !strings.Contains(stderr.String(), "all back after") {
		t.Errorf("text summary:\n%s", stderr.String())
	}
	t.Logf("storm %+v; publish_errors %d, in flight at end %d", st, s.PublishErrors, s.InFlightAtEnd)
}
