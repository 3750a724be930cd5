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
// index, and the page names each test once: its lanes carry the name (a 256 KiB one, a hostile
// one that stays text), a filter matches the name, and an index out of range or not a number
// puts a record in no test; a record of an earlier version, with the name in it, still gets
// its test's lanes.
func TestTestGroupsInChromium(t *testing.T) {
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
		{Name: long, Status: "pass"}, {Name: "t.test.js: " + hostileTopic, Status: "fail"},
	}}
	page := writePage(t, report.Data{Title: "tests", Trace: tr})
	doc := rt.DOM(t, page)
	body := rt.All(doc, func(n *html.Node) bool { return n.Data == "body" })[0]
	if rt.Attr(body, "data-rendered") != "true" || rt.Attr(body, "data-pwned") != "" {
		t.Fatalf("rendered %q, pwned %q", rt.Attr(body, "data-rendered"), rt.Attr(body, "data-pwned"))
	}
	var lanes []string
	for _, l := range rt.All(doc, rt.HasClass("lane")) {
		lanes = append(lanes, rt.Attr(l, "data-lane"))
	}
	want := []string{
		"device " + long + " [pass] · dev-1",
		"device t.test.js: " + hostileTopic + " [fail] · dev-1",
		"device dev-1",
		"broker " + long + " [pass] · mqtt://b:1883",
		"broker t.test.js: " + hostileTopic + " [fail] · mqtt://b:1883",
		"broker old.test.js: legacy [fail] · mqtt://b:1883",
	}
	if strings.Join(lanes, "\n") != strings.Join(want, "\n") {
		short := func(s []string) string {
			var o []string
			for _, x := range s {
				if len(x) > 80 {
					x = x[:40] + "…" + x[len(x)-40:]
				}
				o = append(o, x)
			}
			return strings.Join(o, " | ")
		}
		t.Errorf("lanes\n%s\nwant\n%s", short(lanes), short(want))
	}
	if n := len(rt.All(doc, rt.HasClass("ev"))); n != len(events) {
		t.Errorf("%d marks, want %d", n, len(events))
	}
	if c := cellOf(t, doc, "reconnection-count"); c != "0" {
		t.Errorf("reconnections %s, want 0 (each test's connack is its first)", c)
	}
	filtered := kindCounts(t, rt.DOM(t, page+"#filter=nnnnnnnn"))
	if filtered["connect_attempt"] != 1 || filtered["connack"] != 1 || filtered["publish"] != 0 {
		t.Errorf("filtered by the long name: %v", filtered)
	}
}

// TestCraftedNumbersInChromium: numbers that made the page's axis loops run forever (a step of
// 0 for a series whose largest t is 5e-324; a view from 1e20 where a step does not move the
// value) or nearly so: every page renders, with a bounded number of ticks.
func TestCraftedNumbersInChromium(t *testing.T) {
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
