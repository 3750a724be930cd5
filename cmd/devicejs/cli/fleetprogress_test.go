package cli_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/devicejs/devicejs/fleet"
)

// publisherJS connects, subscribes to what all publish, and publishes once a device second.
const publisherJS = `var c = mqtt.connect('mqtt://broker:1883', {clientId: 'pub'});
var up = false;
c.on('connect', function() { up = true; c.subscribe('t/#'); });
setInterval(function() { if (up) c.publish('t/x', 'v', {qos: 1}); }, 1000);
`

// progressKeys are the keys of a non-terminal progress line, in order.
var progressKeys = []string{"t", "started", "instances", "connected", "reconnecting", "errors", "published", "received", "done", "msg_per_s", "pub_per_s"}

// parseProgress parses the "progress k=v ..." lines of stderr, checking their keys.
func parseProgress(t *testing.T, stderr string) []map[string]string {
	t.Helper()
	var lines []map[string]string
	for _, l := range strings.Split(stderr, "\n") {
		rest, ok := strings.CutPrefix(l, "progress ")
		if !ok {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) != len(progressKeys) {
			t.Fatalf("progress line %q: %d fields, want %d", l, len(fields), len(progressKeys))
		}
		m := map[string]string{}
		for i, f := range fields {
			k, v, ok := strings.Cut(f, "=")
			if !ok || k != progressKeys[i] || v == "" {
				t.Fatalf("progress line %q: field %d is %q, want %s=...", l, i, f, progressKeys[i])
			}
			m[k] = v
		}
		lines = append(lines, m)
	}
	return lines
}

// TestFleetProgressLines: with stderr not a terminal, `fleet` writes one key=value progress
// line per --progress-interval (the figures of the terminal line), none with 0; a malformed
// or negative interval is a usage error naming the flag.
func TestFleetProgressLines(t *testing.T) {
	t.Parallel()
	src := script(t, "pub.js", publisherJS)
	r := runBinary(t, "fleet", "-n", "5", "--broker", "embedded", "--quiet", "--time-scale", "4", "--for", "8s",
		"--progress-interval", "200ms", src)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	lines := parseProgress(t, r.stderr)
	if len(lines) < 3 {
		t.Fatalf("%d progress lines in a 2 s run at 200ms:\n%s", len(lines), r.stderr)
	}
	var prevT float64
	for _, l := range lines {
		if l["instances"] != "5" {
			t.Errorf("instances=%s, want 5", l["instances"])
		}
		for _, k := range progressKeys {
			if _, err := strconv.ParseFloat(strings.TrimSuffix(l[k], "s"), 64); err != nil {
				t.Errorf("%s=%q is not a number", k, l[k])
			}
		}
		tt, _ := strconv.ParseFloat(strings.TrimSuffix(l["t"], "s"), 64)
		if tt < prevT {
			t.Errorf("t went back: %v after %v", tt, prevT)
		}
		prevT = tt
	}
	last := lines[len(lines)-1]
	if last["started"] != "5" || last["published"] == "0" {
		t.Errorf("last progress line %v: want started=5 and publishes", last)
	}
	if strings.Contains(r.stderr, "\r") || strings.Contains(r.stderr, "\033[") {
		t.Errorf("terminal codes outside a terminal:\n%q", r.stderr)
	}

	r = runBinary(t, "fleet", "-n", "2", "--broker", "embedded", "--quiet", "--time-scale", "10", "--for", "5s",
		"--progress-interval", "0", src)
	if r.code != 0 || strings.Contains(r.stderr, "progress ") {
		t.Errorf("--progress-interval 0: exit %d, stderr:\n%s", r.code, r.stderr)
	}

	for _, v := range []string{"abc", "-1s", "10", "1h-"} {
		r := runBinary(t, "fleet", "-n", "1", "--broker", "embedded", "--progress-interval", v, src)
		if r.code != 2 || !strings.Contains(r.stderr, "progress-interval") {
			t.Errorf("--progress-interval %q: exit %d: %s", v, r.code, r.stderr)
		}
	}
}

// TestFleetSettingsInSummary: the summary JSON records the run's settings, --link included.
func TestFleetSettingsInSummary(t *testing.T) {
	t.Parallel()
	src := script(t, "pub.js", publisherJS)
	out := filepath.Join(t.TempDir(), "s.json")
	r := runBinary(t, "fleet", "-n", "4", "--shard", "1/2", "--broker", "embedded", "--quiet", "--time-scale", "10",
		"--for", "3s", "--ramp", "100ms", "--link", "wifi,loss=0%", "--summary-json", out, src)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	s, err := fleet.ReadSummary(strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := os.ReadFile(src)
	h := sha256.Sum256(body)
	want := fleet.Settings{Version: "dev", Broker: "embedded", Link: "wifi,loss=0%", Ramp: "100ms", For: "3s",
		TimeScale: 10, Shard: "1/2", ScriptSHA256: hex.EncodeToString(h[:])}
	if s.Settings == nil || *s.Settings != want {
		t.Errorf("settings %+v, want %+v", s.Settings, want)
	}
	// merged: the shards' settings, without a shard
	m, err := fleet.Merge(s)
	if err != nil {
		t.Fatal(err)
	}
	want.Shard = ""
	if m.Settings == nil || *m.Settings != want {
		t.Errorf("merged settings %+v, want %+v", m.Settings, want)
	}
}

// startFleet starts `devicejs fleet args...` and returns the address printed after prefix on
// stderr; the rest of stderr is collected into *rest. The process is interrupted at cleanup.
func startFleet(t *testing.T, prefix string, rest *strings.Builder, args ...string) (*exec.Cmd, string, chan struct{}) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(cancel)
	cmd := exec.CommandContext(ctx, binary, append([]string{"fleet"}, args...)...)
	errOut, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(errOut)
	var url string
	for url == "" && sc.Scan() {
		if u, ok := strings.CutPrefix(sc.Text(), prefix); ok {
			url = u
		}
	}
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		b, _ := io.ReadAll(errOut)
		rest.Write(b)
	}()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGINT)
		<-drained
		cmd.Wait()
	})
	if url == "" {
		t.Fatalf("no %q line on stderr", prefix)
	}
	return cmd, url, drained
}

// scrape reads url's metrics, checked by the Prometheus text parser.
func scrape(t *testing.T, c *http.Client, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	if v := resp.Header.Get("Access-Control-Allow-Origin"); v != "" {
		t.Errorf("CORS header %q on /metrics", v)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("metrics are not the Prometheus text format: %v", err)
	}
	return fams
}

func metricValue(fams map[string]*dto.MetricFamily, name string) (float64, bool) {
	f, ok := fams[name]
	if !ok || len(f.Metric) != 1 {
		return 0, false
	}
	m := f.Metric[0]
	switch {
	case m.Gauge != nil:
		return m.Gauge.GetValue(), true
	case m.Counter != nil:
		return m.Counter.GetValue(), true
	}
	return 0, false
}

// TestFleetMetrics: `fleet --metrics 127.0.0.1:0` serves the documented metrics in the
// Prometheus text format while the run goes on, consistent with the summary; a foreign Host
// gets 421; many scrapers at once get answers or 503, never a hang; a malformed address is a
// usage error naming --metrics.
func TestFleetMetrics(t *testing.T) {
	t.Parallel()
	src := script(t, "pub.js", publisherJS)
	sumPath := filepath.Join(t.TempDir(), "s.json")
	var rest strings.Builder
	const n = 6
	cmd, url, drained := startFleet(t, "devicejs: metrics at ", &rest, "-n", strconv.Itoa(n), "--broker", "embedded", "--quiet",
		"--time-scale", "5", "--for", "3600s", "--link", "lte", "--metrics", "127.0.0.1:0", "--summary-json", sumPath, src)
	if !strings.HasPrefix(url, "http://127.0.0.1:") || !strings.HasSuffix(url, "/metrics") {
		t.Fatalf("metrics address %q", url)
	}
	c := &http.Client{Timeout: 20 * time.Second}
	names := []string{"devicejs_fleet_instances", "devicejs_fleet_instances_started_total", "devicejs_fleet_instances_connected",
		"devicejs_fleet_instances_reconnecting", "devicejs_fleet_instances_done_total", "devicejs_fleet_errors_total",
		"devicejs_fleet_messages_received_total", "devicejs_fleet_publishes_total", "devicejs_fleet_elapsed_seconds",
		"devicejs_fleet_info", "process_resident_memory_bytes", "go_goroutines",
		"devicejs_fleet_publish_attempts_total", "devicejs_fleet_publish_errors_total", "devicejs_fleet_publishes_in_flight_at_end_total",
		"devicejs_fleet_connections_lost_total", "devicejs_fleet_publish_latency_seconds"}
	var fams map[string]*dto.MetricFamily
	for deadline := time.Now().Add(60 * time.Second); ; {
		fams = scrape(t, c, url)
		conn, _ := metricValue(fams, "devicejs_fleet_instances_connected")
		pub, _ := metricValue(fams, "devicejs_fleet_publishes_total")
		if conn == n && pub > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not all connected and publishing after 60 s: connected %v published %v", conn, pub)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, name := range names {
		f, ok := fams[name]
		if !ok || f.GetHelp() == "" {
			t.Errorf("metric %s missing or without help", name)
		}
	}
	if v, _ := metricValue(fams, "devicejs_fleet_instances"); v != n {
		t.Errorf("devicejs_fleet_instances %v", v)
	}
	if f := fams["devicejs_fleet_publishes_total"]; f.GetType() != dto.MetricType_COUNTER {
		t.Errorf("publishes type %v", f.GetType())
	}
	if f := fams["devicejs_fleet_publish_latency_seconds"]; f != nil {
		qs := map[string]float64{}
		for _, m := range f.Metric {
			qs[m.Label[0].GetValue()] = m.GetGauge().GetValue()
		}
		if len(qs) != 4 || !(qs["0.5"] > 0 && qs["0.5"] <= qs["0.99"] && qs["0.99"] <= qs["1"]) {
			t.Errorf("publish latency quantiles %v", qs)
		}
	}
	labels := map[string]string{}
	for _, l := range fams["devicejs_fleet_info"].Metric[0].Label {
		labels[l.GetName()] = l.GetValue()
	}
	if labels["link"] != "lte" || labels["broker"] != "embedded" || labels["shard"] != "0/1" || len(labels["script_sha256"]) != 64 {
		t.Errorf("info labels %v", labels)
	}

	// A foreign Host (DNS rebinding) gets 421; so does one with the right port on another name.
	for _, host := range []string{"evil.example", "evil.example:" + strings.Split(strings.TrimPrefix(url, "http://127.0.0.1:"), "/")[0], "127.0.0.2"} {
		req, _ := http.NewRequest("GET", url, nil)
		req.Host = host
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMisdirectedRequest {
			t.Errorf("Host %q: %s, want 421", host, resp.Status)
		}
	}
	// Other paths are not served.
	if resp, err := c.Get(strings.TrimSuffix(url, "metrics") + "debug/pprof/"); err == nil {
		resp.Body.Close()
		if resp.StatusCode != 404 {
			t.Errorf("/debug/pprof/: %s", resp.Status)
		}
	}

	// 100 scrapers at once: each gets the metrics or 503, within the client's bound.
	var wg sync.WaitGroup
	codes := make(chan int, 100)
	for range 100 {
		wg.Go(func() {
			resp, err := c.Get(url)
			if err != nil {
				codes <- -1
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			codes <- resp.StatusCode
		})
	}
	wg.Wait()
	close(codes)
	ok := 0
	for code := range codes {
		switch code {
		case 200:
			ok++
		case 503:
		default:
			t.Errorf("a concurrent scrape got %d", code)
		}
	}
	if ok == 0 {
		t.Errorf("no concurrent scrape answered")
	}

	last := scrape(t, c, url)
	pubSeen, _ := metricValue(last, "devicejs_fleet_publishes_total")
	recvSeen, _ := metricValue(last, "devicejs_fleet_messages_received_total")
	cmd.Process.Signal(syscall.SIGINT)
	<-drained
	cmd.Wait()
	b, err := os.ReadFile(sumPath)
	if err != nil {
		t.Fatalf("no summary: %v\n%s", err, rest.String())
	}
	var s fleet.Summary
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	if float64(s.Published) < pubSeen || float64(s.Received) < recvSeen || s.Connected != n {
		t.Errorf("summary published %d received %d connected %d; scraped before the end %v, %v", s.Published, s.Received, s.Connected, pubSeen, recvSeen)
	}
	if s.Settings == nil || s.Settings.Link != "lte" {
		t.Errorf("summary settings %+v", s.Settings)
	}
}

// TestFleetMetricsBadAddress: a malformed --metrics is a usage error naming the flag; so is
// --metrics with --workers, and an address in use.
func TestFleetMetricsBadAddress(t *testing.T) {
	t.Parallel()
	src := script(t, "pub.js", publisherJS)
	for _, v := range []string{"nonsense", "127.0.0.1:99999", "127.0.0.1:", "[::1", "host:port", "-5"} {
		r := runBinary(t, "fleet", "-n", "1", "--broker", "embedded", "--for", "1s", "--metrics", v, src)
		if r.code != 2 || !strings.Contains(r.stderr, "--metrics") {
			t.Errorf("--metrics %q: exit %d: %s", v, r.code, r.stderr)
		}
	}
	r := runBinary(t, "fleet", "-n", "2", "--workers", "2", "--broker", "embedded", "--for", "1s", "--metrics", "127.0.0.1:0", src)
	if r.code != 2 || !strings.Contains(r.stderr, "--metrics") {
		t.Errorf("--metrics with --workers: exit %d: %s", r.code, r.stderr)
	}
}

// TestFleetLiveAllConnected: the live page's summary says when all had connected (it stayed 0)
// and shows the run's settings.
func TestFleetLiveAllConnected(t *testing.T) {
	t.Parallel()
	src := script(t, "pub.js", publisherJS)
	var rest strings.Builder
	const n = 5
	_, url, _ := startFleet(t, "devicejs: live report at ", &rest, "-n", strconv.Itoa(n), "--broker", "embedded", "--quiet",
		"--time-scale", "5", "--for", "3600s", "--link", "wifi", "--ui", "127.0.0.1:0", src)
	c := &http.Client{Timeout: 20 * time.Second}
	for deadline := time.Now().Add(60 * time.Second); ; {
		resp, err := c.Get(url + "data.json")
		if err != nil {
			t.Fatal(err)
		}
		var d pageData
		err = json.NewDecoder(resp.Body).Decode(&d)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if d.Fleet != nil && d.Fleet.Summary.Connected == n {
			s := d.Fleet.Summary
			if s.AllConnectedSeconds <= 0 || s.AllConnectedSeconds > s.ElapsedSeconds {
				t.Errorf("all %d connected, all_connected_seconds %v (elapsed %v)", n, s.AllConnectedSeconds, s.ElapsedSeconds)
			}
			if s.Settings == nil || s.Settings.Link != "wifi" || s.Settings.Broker != "embedded" {
				t.Errorf("live settings %+v", s.Settings)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not all connected on the live page after 60 s")
		}
		time.Sleep(200 * time.Millisecond)
	}
}
