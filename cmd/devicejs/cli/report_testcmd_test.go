package cli_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	rt "github.com/devicejs/devicejs/report/reporttest"
)

// chattyDevice publishes every 100 ms: about 800 trace records in 20 s of device time.
const chattyDevice = `var client = mqtt.connect('mqtt://foo.bar:1883', {clientId: 'chatty'});
setInterval(function () { if (client.canPublish()) client.publish('chatty/x', 'p', {qos: 1}, function (err) {}); }, 100);`

// TestTestReportLongNames: a test's name is written once in a `test --report` page however
// many records its devices leave (a 256 KiB name and 800 records took 1 GB and wrote a 211 MB
// page): the page stays about the size of the name plus the records, the peak RSS bounded,
// and the page's data names each test once, its records pointing to it.
func TestTestReportLongNames(t *testing.T) {
	tt := []struct {
		name   string
		js     string // the JS expression of the test's name
		length int    // its length in UTF-8 bytes as written
	}{
		{"256 KiB", `'n'.repeat(256 * 1024)`, 256 << 10},
		{"2 MiB", `'m'.repeat(2 * 1024 * 1024)`, 2 << 20},
		{"hostile", `'</script><script>document.title="pwned"</script>\u2028' + 'h'.repeat(300000)`, 300000 + 38 + 3},
		{"two tests", `'short'`, 5},
	}
	for _, tc := range tt {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, "chatty.js"), []byte(chattyDevice), 0o644)
			src := "test(" + tc.js + ", function () { device.start('chatty.js'); world.after(20000); });\n" +
				"test('second', function () { device.start('chatty.js'); world.after(5000); });\n"
			os.WriteFile(filepath.Join(dir, "long.test.js"), []byte(src), 0o644)
			out := filepath.Join(dir, "report.html")
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, binary, "test", "--report", out, filepath.Join(dir, "long.test.js"))
			var stderr strings.Builder
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			peak := watchRSS(cmd.Process.Pid)
			if err := cmd.Wait(); err != nil {
				t.Fatalf("%v: %s", err, stderr.String())
			}
			rss := peak()
			st, err := os.Stat(out)
			if err != nil {
				t.Fatal(err)
			}
			d := embeddedData(t, out)
			t.Logf("name of %d bytes, %d records: page %.2f MiB, peak RSS %.0f MiB", tc.length, len(d.Trace.Events), float64(st.Size())/(1<<20), float64(rss)/(1<<20))
			if len(d.Trace.Events) < 400 {
				t.Errorf("%d records, want at least 400", len(d.Trace.Events))
			}
			// The name once (escaped, up to 6 bytes per character) and 1 KiB per record.
			if max := int64(6*tc.length + 1<<20 + len(d.Trace.Events)<<10); st.Size() > max {
				t.Errorf("page of %d bytes, want at most %d", st.Size(), max)
			}
			if rss > 256<<20 {
				t.Errorf("peak RSS %.0f MiB, want at most 256", float64(rss)/(1<<20))
			}
			if len(d.Trace.Tests) != 2 || len(d.Trace.Tests[0].Name) < tc.length || d.Trace.Tests[1].Name != "long.test.js: second" {
				t.Fatalf("tests %d, first named with %d bytes", len(d.Trace.Tests), len(d.Trace.Tests[0].Name))
			}
			per := map[float64]int{}
			for _, e := range d.Trace.Events {
				k, _ := e["testIndex"].(float64)
				per[k]++
				for key, v := range e {
					if s, ok := v.(string); ok && len(s) > 4096 {
						t.Fatalf("record field %s holds %d bytes", key, len(s))
					}
				}
			}
			if per[0] < 400 || per[1] < 50 || len(per) != 2 {
				t.Errorf("records per test %v", per)
			}
		})
	}
}

// TestReportUnencodableData: a summary whose histogram has a bucket past 2^1024 µs has an
// infinite bound, which JSON cannot hold: `devicejs report` exits 1 and writes no page (it
// wrote a blank one and exited 0); a bucket just inside the range still makes a page.
func TestReportUnencodableData(t *testing.T) {
	t.Parallel()
	tt := []struct {
		bucket string
		code   int
	}{
		{"8190", 0}, {"-9000", 0}, {"8191", 1}, {"9000", 1}, {"2147483647", 1}, {"9223372036854775807", 1},
	}
	for _, tc := range tt {
		t.Run(tc.bucket, func(t *testing.T) {
			dir := t.TempDir()
			sum := filepath.Join(dir, "s.json")
			os.WriteFile(sum, []byte(`{"version":1,"fleet_size":1,"instances":1,"shards":["0/1"],"connect_latency_histogram":{"buckets":{"`+
				tc.bucket+`":1},"count":1,"max_us":5}}`), 0o644)
			out := filepath.Join(dir, "r.html")
			r := runBinary(t, "report", sum, "-o", out)
			_, err := os.Stat(out)
			if r.code != tc.code || (tc.code == 0) != (err == nil) {
				t.Errorf("exit %d (page written: %v), want %d: %s", r.code, err == nil, tc.code, r.stderr)
			}
			if tc.code == 1 && !strings.Contains(r.stderr, "JSON") {
				t.Errorf("stderr %q does not say why", r.stderr)
			}
			if tc.code == 0 {
				if d := embeddedData(t, out); d.Fleet == nil || len(d.Fleet.Histogram) != 1 {
					t.Errorf("page data %+v", d.Fleet)
				}
			}
		})
	}
}

// TestTestReportSectionsInChromium: `devicejs test --report` of a file with three tests, the
// second failing with a message that tries to close the data element and run a script, the
// third named like an HTML element that would run one: the page, opened in Chromium, shows a
// summary (2 passed, 1 failed, the file) and three sections, the failed test first, each
// with its name and message as text, its own time axis from 0 to its device time, and only
// the lanes of its own device; the one timeline of all tests (finding 8) is gone.
func TestTestReportSectionsInChromium(t *testing.T) {
	t.Parallel()
	rt.Chromium(t)
	dir := t.TempDir()
	device := func(id string) string {
		return `var client = mqtt.connect('mqtt://foo.bar:1883', {clientId: '` + id + `'});
setInterval(function () { if (client.canPublish()) client.publish('` + id + `/x', 'p', {qos: 1}, function (err) {}); }, 1000);`
	}
	for _, id := range []string{"dev-a", "dev-b", "dev-c"} {
		os.WriteFile(filepath.Join(dir, id+".js"), []byte(device(id)), 0o644)
	}
	const message = `</script><img src=x onerror=alert(1)>`
	const hostileName = `</script><img src=x onerror=document.body.setAttribute("data-pwned","1")>`
	src := "test('first passes', function () { device.start('dev-a.js'); world.after(4000); });\n" +
		"test('second fails', function () { device.start('dev-b.js'); world.after(3000); throw new Error('" + message + "'); });\n" +
		"test('" + hostileName + "', function () { device.start('dev-c.js'); world.after(6000); });\n"
	file := filepath.Join(dir, "three.test.js")
	os.WriteFile(file, []byte(src), 0o644)
	broken := filepath.Join(dir, "z-broken.test.js") // fails outside any test: a syntax error
	os.WriteFile(broken, []byte("test('x', function () { var s = '</script><b>'; + ; });\n"), 0o644)
	out := filepath.Join(dir, "report.html")
	r := runBinary(t, "test", "--report", out, file, broken)
	if r.code != 1 || !strings.Contains(r.stdout, "2 passed, 1 failed") {
		t.Fatalf("exit %d, want 1: %s%s", r.code, r.stdout, r.stderr)
	}
	d := embeddedData(t, out)
	records := map[float64]int{}
	for _, e := range d.Trace.Events {
		k, _ := e["testIndex"].(float64)
		records[k]++
	}
	doc := rt.Open(t, out, filepath.Join(rt.ArtifactDir(t), "test-sections.png"), 1400, 1200)
	body := rt.All(doc, func(n *html.Node) bool { return n.Data == "body" })[0]
	if rt.Attr(body, "data-rendered") != "true" || rt.Attr(body, "data-pwned") != "" {
		t.Fatalf("rendered %q, pwned %q", rt.Attr(body, "data-rendered"), rt.Attr(body, "data-pwned"))
	}
	if c := rt.ByID(doc, "test-counts"); c == nil || rt.Text(c) != "FAIL: 2 passed, 1 failed, 0 skipped, 1 file with errors in 2 files" {
		t.Errorf("summary %v", c)
	}
	files := rt.All(doc, rt.HasClass("test-file"))
	if len(files) != 2 || rt.Text(files[0]) != file || !strings.HasPrefix(rt.Text(files[1]), broken) ||
		!rt.HasClass("file-error")(files[1]) || len(d.Trace.TestFiles) != 2 || d.Trace.TestFiles[1].Error == "" ||
		rt.Text(files[1]) != broken+d.Trace.TestFiles[1].Error {
		t.Errorf("files %d: %+v", len(files), d.Trace.TestFiles)
	}
	if n := len(rt.All(rt.ByID(doc, "timeline"), rt.HasClass("ev"))); n != 0 {
		t.Errorf("the one timeline of all tests holds %d marks", n)
	}
	want := []struct {
		index                float64
		status, name, client string
		message, lastTick    string
	}{
		{1, "fail", "three.test.js: second fails", "dev-b", "Error: " + message, "3 s"},
		{0, "pass", "three.test.js: first passes", "dev-a", "", "4 s"},
		{2, "pass", "three.test.js: " + hostileName, "dev-c", "", "6 s"},
	}
	secs := rt.All(doc, func(n *html.Node) bool { return n.Data == "section" && rt.Attr(n, "data-test") != "" })
	if len(secs) != len(want) {
		t.Fatalf("%d sections, want %d", len(secs), len(want))
	}
	for i, w := range want {
		sec := secs[i]
		name, msg := rt.All(sec, rt.HasClass("test-name")), rt.All(sec, rt.HasClass("message"))
		if rt.Attr(sec, "data-status") != w.status || len(name) != 1 || rt.Text(name[0]) != w.name {
			t.Errorf("section %d: %s %v, want %s %q", i, rt.Attr(sec, "data-status"), name, w.status, w.name)
		}
		if (w.message == "") != (len(msg) == 0) || (w.message != "" && !strings.HasPrefix(rt.Text(msg[0]), w.message)) {
			t.Errorf("section %d: message %d elements, want %q", i, len(msg), w.message)
		}
		var ticks, lanes []string
		for _, k := range rt.All(sec, rt.HasClass("tick")) {
			ticks = append(ticks, rt.Text(k))
		}
		for _, l := range rt.All(sec, rt.HasClass("lane")) {
			lanes = append(lanes, rt.Attr(l, "data-lane"))
		}
		if len(ticks) < 2 || ticks[0] != "0 s" || ticks[len(ticks)-1] != w.lastTick {
			t.Errorf("section %d: axis %q, want 0 s to %s", i, ticks, w.lastTick)
		}
		if strings.Join(lanes, ",") != "device "+w.client+",broker mqtt://foo.bar:1883" {
			t.Errorf("section %d: lanes %q, want its device %s and the broker", i, lanes, w.client)
		}
		if n := len(rt.All(sec, rt.HasClass("ev"))); n != records[w.index] || n < 4 {
			t.Errorf("section %d: %d marks, %d records", i, n, records[w.index])
		}
	}
}
