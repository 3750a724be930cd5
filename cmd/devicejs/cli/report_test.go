package cli_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/devicejs/devicejs/fleet"
	"github.com/devicejs/devicejs/internal/testbroker"
	rt "github.com/devicejs/devicejs/report/reporttest"
)

var sample5 = filepath.Join("..", "..", "..", "testdata", "samples", "sample5.js")

// countKind returns how many records of kind the trace file holds so far.
func countKind(path, kind string) int {
	b, _ := os.ReadFile(path)
	return strings.Count(string(b), `"kind":"`+kind+`"`)
}

// TestReportSample5AcrossTwoRestarts runs sample 5 (the real binary) against mosquitto, restarts
// the broker twice under it, interrupts it once it has reconnected twice and published again,
// and opens the --report in headless Chromium: the timeline must show both reconnections. The
// same trace through `devicejs report` (a file of an earlier run) must show the same. With
// DEVICEJS_REPORT_SCREENSHOT set (make report-screenshot), the screenshot is written there too.
func TestReportSample5AcrossTwoRestarts(t *testing.T) {
	t.Parallel()
	rt.Chromium(t)
	b := testbroker.Mosquitto(t)
	dir := t.TempDir()
	tracePath, reportPath := filepath.Join(dir, "trace.jsonl"), filepath.Join(dir, "report.html")
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "run", "--broker", b.Addr(), "--time-scale", "20",
		"--trace-json", tracePath, "--report", reportPath, sample5)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor := func(kind string, n int) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for countKind(tracePath, kind) < n {
			if time.Now().After(deadline) {
				b, _ := os.ReadFile(tracePath)
				t.Fatalf("waited 30 s for %d %s records:\n%s", n, kind, b)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitFor("suback", 2)
	waitFor("publish_done", 1)
	b.Restart()
	waitFor("connack", 2)
	b.Restart()
	waitFor("connack", 3)
	waitFor("suback", 6)
	n := countKind(tracePath, "publish_done")
	waitFor("publish_done", n+1)
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	var ee *exec.ExitError
	if err := cmd.Wait(); !errors.As(err, &ee) || ee.ExitCode() != 130 {
		t.Fatalf("exit %v, want 130 (SIGINT); stderr:\n%s", err, stderr.String())
	}

	png := filepath.Join(rt.ArtifactDir(t), "sample5-two-restarts.png")
	doc := rt.Open(t, reportPath, png, 1400, 760)
	checkTwoReconnections(t, doc, tracePath)
	if out := os.Getenv("DEVICEJS_REPORT_SCREENSHOT"); out != "" {
		data, err := os.ReadFile(png)
		if err == nil {
			err = os.WriteFile(out, data, 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot copied to %s", out)
	}

	// The same trace, as a file of an earlier run, through `devicejs report`.
	again := filepath.Join(dir, "again.html")
	if r := runBinary(t, "report", tracePath, "-o", again); r.code != 0 {
		t.Fatalf("devicejs report: exit %d, stderr %s", r.code, r.stderr)
	}
	wantData, gotData := embeddedData(t, reportPath), embeddedData(t, again)
	if len(wantData.Trace.Events) == 0 || len(gotData.Trace.Events) != len(wantData.Trace.Events) {
		t.Errorf("devicejs report drew %d events, --report %d", len(gotData.Trace.Events), len(wantData.Trace.Events))
	}
}

// checkTwoReconnections reads the drawn timeline of a run with two broker restarts.
func checkTwoReconnections(t *testing.T, doc *html.Node, tracePath string) {
	t.Helper()
	if n := rt.ByID(doc, "reconnection-count"); n == nil || rt.Cells(n)[1] != "2" {
		t.Errorf("reconnections row %v, want 2", rt.Cells(n))
	}
	marks := rt.All(doc, rt.HasClass("reconnection"))
	if len(marks) != 2 || rt.Text(marks[0]) != "reconnected #1" || rt.Text(marks[1]) != "reconnected #2" {
		t.Errorf("%d reconnection markers in the timeline, want 2", len(marks))
	}
	if n := len(rt.All(doc, rt.HasClass("ev-connack"))); n != 3 {
		t.Errorf("%d CONNACKs drawn, want 3", n)
	}
	if n, want := len(rt.All(doc, rt.HasClass("ev-reconnect_wait"))), countKind(tracePath, "reconnect_wait"); n < 2 || n != want {
		t.Errorf("%d reconnect waits drawn, trace has %d (want >= 2)", n, want)
	}
	if n, want := len(rt.All(doc, rt.HasClass("ev"))), countLines(t, tracePath); n != want {
		t.Errorf("%d events drawn, trace has %d", n, want)
	}
}

func countLines(t *testing.T, path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(b), "\n")
}

// pageData is the part of a report's embedded data these tests read.
type pageData struct {
	Title string `json:"title"`
	Live  bool   `json:"live"`
	Trace *struct {
		Events  []map[string]any `json:"events"`
		Skipped int              `json:"skipped"`
		Tests   []struct {
			Name     string `json:"name"`
			Status   string `json:"status"`
			Message  string `json:"message"`
			DeviceMs int64  `json:"deviceMs"`
		} `json:"tests"`
		TestFiles []struct {
			Name  string `json:"name"`
			Error string `json:"error"`
		} `json:"testFiles"`
	} `json:"trace"`
	Fleet *struct {
		Summary   fleet.Summary `json:"summary"`
		Histogram []struct {
			Count uint64 `json:"count"`
		} `json:"histogram"`
	} `json:"fleet"`
}

var dataElement = regexp.MustCompile(`(?s)<script id="report-data" type="application/json">(.*?)</script>`)

// embeddedData reads the JSON a report page embeds (without a browser).
func embeddedData(t *testing.T, path string) pageData {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return decodeData(t, b)
}

func decodeData(t *testing.T, page []byte) pageData {
	t.Helper()
	m := dataElement.FindSubmatch(page)
	if m == nil {
		t.Fatalf("no data element in %.200s", page)
	}
	var d pageData
	if err := json.Unmarshal(m[1], &d); err != nil {
		t.Fatalf("embedded data: %v", err)
	}
	return d
}

// TestFleetReport runs a small real fleet with --report and --summary-json: the summary gains
// the series and the slowest devices, and the report's histogram holds every instance.
func TestFleetReport(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sumPath, reportPath := filepath.Join(dir, "fleet.json"), filepath.Join(dir, "fleet.html")
	r := runBinary(t, "fleet", "-n", "25", "--broker", "embedded", "--time-scale", "20", "--for", "40s", "--quiet",
		"--summary-json", sumPath, "--report", reportPath, sample5)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	f, err := os.Open(sumPath)
	if err != nil {
		t.Fatal(err)
	}
	s, err := fleet.ReadSummary(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	// On a loaded machine an instance may miss its connectTimeout (1.5 s of wall time at scale
	// 20); the slowest list holds the connected ones.
	if s.Connected == 0 || len(s.Series) < 2 || s.Series[len(s.Series)-1].Started != 25 || len(s.Slowest) != min(fleet.SlowestKept, s.Connected) {
		t.Errorf("summary series %d samples (last %+v), %d slowest", len(s.Series), s.Series[len(s.Series)-1], len(s.Slowest))
	}
	d := embeddedData(t, reportPath)
	if d.Fleet == nil || d.Trace != nil {
		t.Fatalf("report data %+v", d)
	}
	var total uint64
	for _, b := range d.Fleet.Histogram {
		total += b.Count
	}
	if total != uint64(s.Connected) || d.Fleet.Summary.Published != s.Published || len(d.Fleet.Summary.Series) != len(s.Series) {
		t.Errorf("histogram holds %d, want %d (connected); published %d vs %d", total, s.Connected, d.Fleet.Summary.Published, s.Published)
	}
	// The summary file itself makes the same report, and so does a summary of a later version
	// with a field this one does not know.
	raw, err := os.ReadFile(sumPath)
	if err != nil {
		t.Fatal(err)
	}
	later := filepath.Join(dir, "later.json")
	if err := os.WriteFile(later, bytes.Replace(raw, []byte("{"), []byte(`{"a_later_field": {"x": [1]},`), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, in := range []string{sumPath, later} {
		again := filepath.Join(dir, "again.html")
		if r := runBinary(t, "report", in, "-o", again); r.code != 0 {
			t.Fatalf("devicejs report %s: exit %d: %s", in, r.code, r.stderr)
		}
		if d2 := embeddedData(t, again); d2.Fleet == nil || d2.Fleet.Summary.Published != s.Published {
			t.Errorf("report of %s differs", in)
		}
	}
}

// TestReportEarlierRun: a --trace-json file written by the devicejs of commit 5ba7d09 (the first
// with --trace-json) makes a report with every event.
func TestReportEarlierRun(t *testing.T) {
	t.Parallel()
	in := filepath.Join("..", "..", "..", "report", "testdata", "trace-5ba7d09.jsonl")
	out := filepath.Join(t.TempDir(), "old.html")
	if r := runBinary(t, "report", in, "-o", out); r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if d := embeddedData(t, out); d.Trace == nil || len(d.Trace.Events) != countLines(t, in) || d.Trace.Skipped != 0 || d.Title != "devicejs report: trace-5ba7d09.jsonl" {
		t.Errorf("report of an earlier run: %+v", d)
	}
}

// TestFleetWorkersReport: with --workers the workers record the series and the slowest
// instances (hidden --report-series) and the supervisor reports the merged summary; --ui is
// refused there.
func TestFleetWorkersReport(t *testing.T) {
	t.Parallel()
	out := filepath.Join(t.TempDir(), "workers.html")
	r := runBinary(t, "fleet", "-n", "6", "--workers", "2", "--broker", "embedded", "--time-scale", "20", "--for", "20s", "--quiet", "--report", out, sample5)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	d := embeddedData(t, out)
	if d.Fleet == nil {
		t.Fatal("no fleet in the report")
	}
	var total uint64
	for _, b := range d.Fleet.Histogram {
		total += b.Count
	}
	s := d.Fleet.Summary
	if s.Connected == 0 || total != uint64(s.Connected) || len(s.Series) < 1 || s.Series[len(s.Series)-1].Started != 6 || len(s.Slowest) != s.Connected || len(s.Shards) != 2 {
		t.Errorf("histogram %d, series %+v, slowest %d, shards %v", total, s.Series, len(s.Slowest), s.Shards)
	}
	if r := runBinary(t, "fleet", "-n", "2", "--workers", "2", "--ui", "127.0.0.1:0", "--broker", "embedded", "--for", "1s", sample5); r.code != 2 {
		t.Errorf("--ui with --workers: exit %d, want 2", r.code)
	}
}

// TestReportCommandErrors: the usage errors of `devicejs report` exit 2 and write no file.
func TestReportCommandErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.jsonl")
	garbage := filepath.Join(dir, "garbage.jsonl")
	os.WriteFile(empty, nil, 0o644)
	os.WriteFile(garbage, []byte("not json\n{{{\n"), 0o644)
	sum := filepath.Join(dir, "s.json")
	os.WriteFile(sum, []byte(`{"version":1,"fleet_size":2,"instances":1,"shards":["0/2"]}`), 0o644)
	out := filepath.Join(dir, "out.html")
	tt := []struct {
		name string
		args []string
		want string
	}{
		{"no files", []string{"report", "-o", out}, "one or more"},
		{"no -o", []string{"report", empty}, "-o is required"},
		{"missing file", []string{"report", filepath.Join(dir, "nope"), "-o", out}, "no such file"},
		{"empty trace", []string{"report", empty, "-o", out}, "neither"},
		{"only garbage", []string{"report", garbage, "-o", out}, "neither"},
		{"same shard twice", []string{"report", sum, sum, "-o", out}, "more than one summary"},
		{"unwritable output", []string{"report", sum, "-o", filepath.Join(dir, "no", "dir", "x.html")}, "report"},
	}
	for _, tc := range tt {
		t.Run(tc.name, func(t *testing.T) {
			r := runBinary(t, tc.args...)
			wantCode := 2
			if tc.name == "unwritable output" {
				wantCode = 1
			}
			if r.code != wantCode || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", r.code, r.stderr, wantCode, tc.want)
			}
			if _, err := os.Stat(out); err == nil {
				t.Errorf("%s written", out)
			}
		})
	}
	for _, flags := range [][]string{{"--ui", "nonsense"}, {"--ui", "127.0.0.1:99999"}, {"--report", filepath.Join(dir, "no", "x.html")}} {
		if r := runBinary(t, append(append([]string{"run", "--broker", "embedded", "--for", "1s"}, flags...), sample5)...); r.code != 2 {
			t.Errorf("run %v: exit %d, want 2: %s", flags, r.code, r.stderr)
		}
	}
}

// TestRunLiveUI: `run --ui 127.0.0.1:0` prints the page's address and serves the growing trace
// while the run goes on, live.
func TestRunLiveUI(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "run", "--broker", "embedded", "--time-scale", "20", "--for", "600s", "--ui", "127.0.0.1:0", sample5)
	errOut, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Signal(syscall.SIGINT)
		cmd.Wait()
	}()
	sc := bufio.NewScanner(errOut)
	var url string
	for url == "" && sc.Scan() {
		if u, ok := strings.CutPrefix(sc.Text(), "devicejs: live report at "); ok {
			url = u
		}
	}
	go io.Copy(io.Discard, errOut)
	if !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Fatalf("no live address on stderr (got %q)", url)
	}
	client := &http.Client{Timeout: 20 * time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := client.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		d := decodeData(t, page)
		if d.Live && d.Trace != nil && countIn(d, "publish_done") > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no publish in the live page after 30 s: %+v", d)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func countIn(d pageData, kind string) int {
	n := 0
	for _, e := range d.Trace.Events {
		if e["kind"] == kind {
			n++
		}
	}
	return n
}

// TestTestCommandReport: `devicejs test --report` writes the traces of every device of every
// test, each record marked with the index of its test, named once with its status.
func TestTestCommandReport(t *testing.T) {
	t.Parallel()
	out := filepath.Join(t.TempDir(), "tests.html")
	r := runBinary(t, "test", "--report", out, filepath.Join("..", "..", "..", "devtest", "testdata", "sensor.test.js"))
	if r.code != 0 {
		t.Fatalf("exit %d: %s%s", r.code, r.stdout, r.stderr)
	}
	d := embeddedData(t, out)
	tests := map[string]bool{}
	for _, e := range d.Trace.Events {
		k, ok := e["testIndex"].(float64)
		if !ok || k < 0 || int(k) >= len(d.Trace.Tests) || e["test"] != nil || e["clientId"] == nil {
			t.Fatalf("record %v", e)
		}
		g := d.Trace.Tests[int(k)]
		if !strings.HasPrefix(g.Name, "sensor.test.js: ") || g.Status != "pass" {
			t.Fatalf("test %+v", g)
		}
		tests[g.Name] = true
	}
	passed := strings.Count("\n"+r.stdout, "\nok ")
	if len(tests) == 0 || len(tests) > passed {
		t.Errorf("records of %d tests, %d passed:\n%s", len(tests), passed, r.stdout)
	}
	// Every test is listed, with records or not, and the file once.
	if len(d.Trace.Tests) != passed || len(d.Trace.TestFiles) != 1 || !strings.HasSuffix(d.Trace.TestFiles[0].Name, "sensor.test.js") {
		t.Errorf("%d tests listed, %d passed; files %+v", len(d.Trace.Tests), passed, d.Trace.TestFiles)
	}
	// The page's sections per test are drawn in Chromium by TestTestReportSectionsInChromium.
}
