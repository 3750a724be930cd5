package cli_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
