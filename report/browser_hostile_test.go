package report_test

import (
	"math"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/devicejs/devicejs/fleet"
	"github.com/devicejs/devicejs/report"
	rt "github.com/devicejs/devicejs/report/reporttest"
)

// TestTestGroupsInChromium: the records of `devicejs test --report` point to their test by
// index, and the page names each test once, in its own section: a 256 KiB name and a hostile
// one stay text, a filter matching a test's name keeps its records, and records whose index is
// out of range, not a whole number or not a number (or that carry an earlier version's name
// instead) are in a last section of their own.
func TestTestGroupsInChromium(t *testing.T) {
	t.Parallel() // Chromium runs of its own; nothing shared
	rt.Chromium(t)
	long := "t.test.js: " + strings.Repeat("n", 256<<10)
	ev := func(t float64, kind string, k any) map[string]any {
		m := map[string]any{"t": t, "kind": kind, "clientId": "dev-1", "broker": "mqtt://b:1883"}
		if k != nil {
			m["testIndex"] = k
		}
		return m
	}
	events := []map[string]any{
		ev(0, "connect_attempt", 0), ev(0.1, "connack", 0),
		ev(0, "connect_attempt", 1), ev(0.2, "connack", 1),
		ev(1, "publish", 99), ev(1.5, "publish", -1), ev(2, "publish", 0.5), ev(2.5, "publish", "0"), // no test
		{"t": 3, "kind": "connack", "clientId": "dev-1", "broker": "mqtt://b:1883", "test": "old.test.js: legacy", "testStatus": "fail"},
	}
	tr := &report.Trace{Events: events, Tests: []report.TestGroup{
		{Name: long, Status: "pass"}, {Name: "t.test.js: " + hostileTopic, Status: "fail", Message: hostileTopic},
	}}
	page := writePage(t, report.Data{Title: "tests", Trace: tr})
	doc := rt.DOM(t, page)
	body := rt.All(doc, func(n *html.Node) bool { return n.Data == "body" })[0]
	if rt.Attr(body, "data-rendered") != "true" || rt.Attr(body, "data-pwned") != "" {
		t.Fatalf("rendered %q, pwned %q", rt.Attr(body, "data-rendered"), rt.Attr(body, "data-pwned"))
	}
	secs := testSections(doc)
	if len(secs) != 3 || secs[0].key != "t1" || secs[1].key != "t0" || secs[2].key != "none" {
		t.Fatalf("sections %v, want t1 (failed), t0, none", secs)
	}
	if secs[0].name != "t.test.js: "+hostileTopic || secs[0].message != hostileTopic || secs[1].name != long {
		t.Errorf("names or message not kept as text: %.80q, %.80q", secs[0].name, secs[0].message)
	}
	for i, want := range []int{2, 2, 5} {
		if secs[i].marks != want || strings.Join(secs[i].lanes, ",") != "device dev-1,broker mqtt://b:1883" {
			t.Errorf("section %s: %d marks (want %d), lanes %q", secs[i].key, secs[i].marks, want, secs[i].lanes)
		}
	}
	filtered := testSections(rt.DOM(t, page+"#filter=nnnnnnnn"))
	if len(filtered) != 3 || filtered[0].marks != 0 || filtered[1].marks != 2 || filtered[2].marks != 0 {
		t.Errorf("filtered by the long name: %v", filtered)
	}
}

// TestCraftedNumbersInChromium: numbers that made the page's axis loops run forever (a step of
// 0 for a series whose largest t is 5e-324; a view from 1e20 where a step does not move the
// value) or nearly so: every page renders, with a bounded number of ticks.
func TestCraftedNumbersInChromium(t *testing.T) {
	t.Parallel() // Chromium runs of its own; nothing shared
	rt.Chromium(t)
	// Each page carries a fleet series and a trace (both drawn), and the address a view, so
	// that one Chromium run checks three shapes.
	page := func(series, events []float64) report.Data {
		d := report.Data{Title: "numbers", Trace: &report.Trace{}}
		if series != nil {
			s := fleet.Summary{Version: fleet.SummaryVersion, FleetSize: 1, Instances: 1}
			for i, x := range series {
				s.Series = append(s.Series, fleet.Sample{T: x, Connected: i, Received: uint64(i)})
			}
			d.Fleet = report.NewFleet(s)
		}
		for _, x := range events {
			d.Trace.Events = append(d.Trace.Events, map[string]any{"t": x, "kind": "publish", "clientId": "d"})
		}
		return d
	}
	tt := []struct {
		name           string
		series, events []float64
		hash           string
	}{
		{"series to 5e-324, view at 1e20", []float64{0, 5e-324}, []float64{0, 1}, "#from=1e20&to=100000000000000016384"},
		{"series to 1e-320, view at 2^53", []float64{0, 1e-320}, []float64{0, 1}, "#from=9007199254740992&to=9007199254740994"},
		{"series of one subnormal, view of everything", []float64{5e-324}, []float64{0, 1}, "#from=-1e308&to=1e308"},
		{"series to 1e308, view of 5e-324", []float64{0, 1e308}, []float64{0, 1}, "#from=0&to=5e-324"},
		{"series from -1e308, view at 1e300", []float64{-1e308, 0, 1}, []float64{0, 1}, "#from=1e300&to=1.0000000000000001e300"},
		{"series to max float, view of NaN", []float64{0, math.MaxFloat64}, []float64{0, 1}, "#from=NaN&to=1"},
		{"events at ±1e308, view of Infinity", []float64{0, 1, 2}, []float64{-1e308, 0, 1e308}, "#from=0&to=Infinity"},
		{"events at 5e-324", nil, []float64{0, 5e-324}, ""},
		{"events at 1e20", nil, []float64{1e20, 1e20 + 16384}, ""},
	}
	for _, tc := range tt {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			doc := rt.DOM(t, writePage(t, page(tc.series, tc.events))+tc.hash)
			body := rt.All(doc, func(n *html.Node) bool { return n.Data == "body" })[0]
			if rt.Attr(body, "data-rendered") != "true" {
				t.Fatal("the page did not finish drawing")
			}
			for _, id := range []string{"timeline", "connected-chart", "rate-chart"} {
				if n := len(rt.All(rt.ByID(doc, id), rt.HasClass("tick"))); n > 40 {
					t.Errorf("#%s: %d ticks", id, n)
				}
			}
		})
	}
}
