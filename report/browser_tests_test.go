package report_test

import (
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/devicejs/devicejs/report"
	rt "github.com/devicejs/devicejs/report/reporttest"
)

// testSection is one test's section of a `devicejs test --report` page as drawn.
type testSection struct {
	key, status, name, message string
	lanes, ticks               []string
	marks                      int
}

func (s testSection) String() string {
	n := s.name
	if len(n) > 60 {
		n = n[:60] + "…"
	}
	return fmt.Sprintf("{%s %s %q lanes %q ticks %d marks %d}", s.key, s.status, n, s.lanes, len(s.ticks), s.marks)
}

// testSections reads the test sections of a page, in the order drawn.
func testSections(doc *html.Node) []testSection {
	var out []testSection
	for _, sec := range rt.All(doc, func(n *html.Node) bool { return n.Data == "section" && rt.Attr(n, "data-test") != "" }) {
		s := testSection{key: rt.Attr(sec, "data-test"), status: rt.Attr(sec, "data-status")}
		if n := rt.All(sec, rt.HasClass("test-name")); len(n) == 1 {
			s.name = rt.Text(n[0])
		}
		if n := rt.All(sec, rt.HasClass("message")); len(n) == 1 {
			s.message = rt.Text(n[0])
		}
		for _, l := range rt.All(sec, rt.HasClass("lane")) {
			s.lanes = append(s.lanes, rt.Attr(l, "data-lane"))
		}
		for _, k := range rt.All(sec, rt.HasClass("tick")) {
			s.ticks = append(s.ticks, rt.Text(k))
		}
		s.marks = len(rt.All(sec, rt.HasClass("ev")))
		out = append(out, s)
	}
	return out
}

// TestTestSectionsInChromium: a `devicejs test --report` page draws a summary (passed, failed,
// skipped, the files, a file's error) and one section per test, the failed ones first and
// then the others in file order, each with its status, its failure message or skip reason as
// text, its own time axis from 0 to its device time (or its last record), and only the lanes
// its own records use. The single timeline of a run's trace is not drawn.
func TestTestSectionsInChromium(t *testing.T) {
	t.Parallel() // Chromium runs of its own; nothing shared
	rt.Chromium(t)
	ev := func(k int, t float64, kind, client string, kv ...any) map[string]any {
		m := map[string]any{"t": t, "kind": kind, "clientId": client, "broker": "mqtt://b:1883", "testIndex": k}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	const hostileMsg = "expected </script><img src=x onerror=document.body.setAttribute('data-pwned','1')>\n  at a.test.js:3"
	events := []map[string]any{
		ev(0, 0, "connect_attempt", "dev-a"), ev(0, 0.01, "connack", "dev-a"), ev(0, 1, "publish", "dev-a", "topic", "a/x"), ev(0, 1.01, "publish_done", "dev-a", "topic", "a/x", "code", 0),
		ev(1, 0, "connect_attempt", "dev-b"), ev(1, 0.02, "connack", "dev-b"), ev(1, 0.5, "message", "dev-b", "topic", "b/cmd"),
		ev(1, 40, "close", "dev-b"), ev(1, 40, "reconnect_wait", "dev-b", "waitMs", 1000), ev(1, 41, "connect_attempt", "dev-b"), ev(1, 41.1, "connack", "dev-b"),
		ev(3, 0, "connect_attempt", "dev-d"), ev(3, 0.03, "connack", "dev-d"),
		ev(4, 0.5, "error", "dev-e", "error", "boom"),
	}
	tr := &report.Trace{Events: events, Tests: []report.TestGroup{
		{Name: "a.test.js: publishes", Status: "pass", DeviceMs: 3000},
		{Name: "a.test.js: reconnects", Status: "fail", Message: hostileMsg, DeviceMs: 45000},
		{Name: "a.test.js: later", Status: "skip", Message: "not yet"},
		{Name: "b.test.js: <b>bold</b>", Status: "pass", DeviceMs: 500},
		{Name: "b.test.js: fails too", Status: "fail", Message: "second failure", DeviceMs: math.MaxInt64},
	}, TestFiles: []report.TestFile{{Name: "a.test.js"}, {Name: "b.test.js"}, {Name: "c.test.js", Error: "SyntaxError: <i>x</i>"}}}
	page := writePage(t, report.Data{Title: "devicejs test", Trace: tr})
	doc := rt.Open(t, page, filepath.Join(rt.ArtifactDir(t), "test-sections.png"), 1400, 1600)
	body := rt.All(doc, func(n *html.Node) bool { return n.Data == "body" })[0]
	if rt.Attr(body, "data-rendered") != "true" || rt.Attr(body, "data-pwned") != "" {
		t.Fatalf("rendered %q, pwned %q", rt.Attr(body, "data-rendered"), rt.Attr(body, "data-pwned"))
	}
	counts := rt.ByID(doc, "test-counts")
	if counts == nil || rt.Text(counts) != "FAIL: 2 passed, 2 failed, 1 skipped, 1 file with errors in 3 files" ||
		rt.Attr(counts, "data-passed") != "2" || rt.Attr(counts, "data-failed") != "2" || rt.Attr(counts, "data-skipped") != "1" {
		t.Fatalf("summary %q", rt.Text(counts))
	}
	var files []string
	for _, f := range rt.All(doc, rt.HasClass("test-file")) {
		files = append(files, rt.Text(f))
	}
	if strings.Join(files, "|") != "a.test.js|b.test.js|c.test.jsSyntaxError: <i>x</i>" {
		t.Errorf("files %q", files)
	}
	if ts := rt.ByID(doc, "trace-section"); ts == nil || rt.Attr(ts, "hidden") == "" && !hasAttr(ts, "hidden") {
		t.Errorf("the one timeline of all tests is drawn")
	}
	if n := len(rt.All(rt.ByID(doc, "timeline"), rt.HasClass("ev"))); n != 0 {
		t.Errorf("the one timeline holds %d marks", n)
	}

	secs := testSections(doc)
	want := []struct {
		key, status, name, message string
		lanes                      string
		marks                      int
		lastTick                   string
	}{
		{"t1", "fail", "a.test.js: reconnects", hostileMsg, "device dev-b,broker mqtt://b:1883,peers via mqtt://b:1883", 7, "45 s"},
		{"t4", "fail", "b.test.js: fails too", "second failure", "device dev-e", 1, ""},
		{"t0", "pass", "a.test.js: publishes", "", "device dev-a,broker mqtt://b:1883", 4, "3 s"},
		{"t2", "skip", "a.test.js: later", "not yet", "", 0, ""},
		{"t3", "pass", "b.test.js: <b>bold</b>", "", "device dev-d,broker mqtt://b:1883", 2, "0.5 s"},
	}
	if len(secs) != len(want) {
		t.Fatalf("sections %v", secs)
	}
	for i, w := range want {
		s := secs[i]
		if s.key != w.key || s.status != w.status || s.name != w.name || s.message != w.message || strings.Join(s.lanes, ",") != w.lanes || s.marks != w.marks {
			t.Errorf("section %d: %v message %q, want %+v", i, s, s.message, w)
			continue
		}
		if w.marks == 0 {
			if len(s.ticks) != 0 {
				t.Errorf("section %s: no records but %d ticks", s.key, len(s.ticks))
			}
			continue
		}
		if len(s.ticks) == 0 || s.ticks[0] != "0 s" || len(s.ticks) > 40 || (w.lastTick != "" && s.ticks[len(s.ticks)-1] != w.lastTick) {
			t.Errorf("section %s: axis %q, want 0 s to %s", s.key, s.ticks, w.lastTick)
		}
	}
}

func hasAttr(n *html.Node, key string) bool {
	for _, a := range n.Attr {
		if a.Key == key {
			return true
		}
	}
	return false
}
