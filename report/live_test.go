package report_test

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/devicejs/devicejs/report"
)

func TestResolveUIAddr(t *testing.T) {
	tt := []struct {
		in, addr string
		remote   bool
		bad      bool
	}{
		{in: "8080", addr: "127.0.0.1:8080"},
		{in: ":8080", addr: "127.0.0.1:8080"},
		{in: "127.0.0.1:0", addr: "127.0.0.1:0"},
		{in: "[::1]:9000", addr: "[::1]:9000"},
		{in: "localhost:9000", addr: "localhost:9000"},
		{in: "0.0.0.0:8080", addr: "0.0.0.0:8080", remote: true},
		{in: "192.168.1.5:80", addr: "192.168.1.5:80", remote: true},
		{in: "example.com:80", addr: "example.com:80", remote: true},
		{in: "", bad: true},
		{in: "abc", bad: true},
		{in: "127.0.0.1", bad: true},
		{in: ":70000", bad: true},
		{in: ":-1", bad: true},
		{in: "99999", bad: true},
		{in: "127.0.0.1:http", bad: true},
	}
	for _, tc := range tt {
		addr, remote, err := report.ResolveUIAddr(tc.in)
		if tc.bad {
			if err == nil {
				t.Errorf("%q: accepted as %q", tc.in, addr)
			}
			continue
		}
		if err != nil || addr != tc.addr || remote != tc.remote {
			t.Errorf("%q: %q remote %v err %v, want %q remote %v", tc.in, addr, remote, err, tc.addr, tc.remote)
		}
	}
}

// TestLiveServesUpdates: the page is served with live data; /events sends a new snapshot each
// interval while the trace file grows (a partial last line waits for its end); Close sends the
// final data, not live, and ends the stream.
func TestLiveServesUpdates(t *testing.T) {
	path := filepath.Join(t.TempDir(), "trace.jsonl")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tail := report.NewTraceTail(path)
	var calls atomic.Int64
	l, err := report.ListenLive("127.0.0.1:0", func() report.Data {
		calls.Add(1)
		return report.Data{Title: "live test", Trace: tail.Snapshot()}
	})
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	defer func() {
		if !closed {
			l.Close(report.Data{})
		}
	}()
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Get(l.URL())
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(page), `"live":true`) || !strings.Contains(string(page), "<title>live test</title>") {
		t.Fatalf("page is not a live report: %.300s", page)
	}
	if resp, err := client.Get(l.URL() + "nothing"); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown path: %v %v", resp.Status, err)
	} else {
		resp.Body.Close()
	}

	resp, err = client.Get(l.URL() + "events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	events := make(chan report.Data, 64)
	go func() {
		defer close(events)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				var v report.Data
				if json.Unmarshal([]byte(d), &v) == nil {
					events <- v
				}
			}
		}
	}()
	next := func() report.Data {
		t.Helper()
		select {
		case d, ok := <-events:
			if !ok {
				t.Fatal("stream ended")
			}
			return d
		case <-time.After(20 * time.Second):
			t.Fatal("no event in 20 s")
		}
		return report.Data{}
	}
	if d := next(); !d.Live || len(d.Trace.Events) != 0 {
		t.Fatalf("first event %+v", d)
	}
	f.WriteString(`{"kind":"connect_attempt"}` + "\n" + `{"kind":"conn`)
	waitEvents := func(n int) report.Data {
		t.Helper()
		for range 40 {
			if d := next(); len(d.Trace.Events) == n {
				return d
			} else if len(d.Trace.Events) > n {
				t.Fatalf("%d events, want %d (a partial line was read)", len(d.Trace.Events), n)
			}
		}
		t.Fatalf("never saw %d events", n)
		return report.Data{}
	}
	waitEvents(1)
	f.WriteString(`ack"}` + "\n")
	if d := waitEvents(2); d.Trace.Events[1]["kind"] != "connack" || d.Trace.Skipped != 0 {
		t.Errorf("second event %v, skipped %d", d.Trace.Events[1], d.Trace.Skipped)
	}
	if err := l.Close(report.Data{Title: "final"}); err != nil {
		t.Errorf("close: %v", err)
	}
	closed = true
	var last report.Data
	for d := range events {
		last = d
	}
	if last.Live || last.Title != "final" {
		t.Errorf("last event %+v, want the final data, not live", last)
	}
	if _, err := client.Get(l.URL()); err == nil {
		t.Error("server still answers after Close")
	}
}

// TestTraceTailBound: a live page gets at most LiveTraceEvents events, the latest, and the
// number left out.
func TestTraceTailBound(t *testing.T) {
	path := filepath.Join(t.TempDir(), "trace.jsonl")
	var b strings.Builder
	n := report.LiveTraceEvents + 5
	for i := range n {
		b.WriteString(`{"kind":"message","i":` + itoa(i) + "}\n")
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	tr := report.NewTraceTail(path).Snapshot()
	if len(tr.Events) != report.LiveTraceEvents || tr.Skipped != 5 || toString(tr.Events[0]["i"]) != "5" {
		t.Errorf("%d events from %v, skipped %d", len(tr.Events), tr.Events[0]["i"], tr.Skipped)
	}
	if tr := report.NewTraceTail(filepath.Join(t.TempDir(), "missing")).Snapshot(); len(tr.Events) != 0 {
		t.Errorf("missing file: %+v", tr)
	}
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }
