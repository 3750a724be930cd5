package report_test

import (
	"math"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/devicejs/devicejs/fleet"
	"github.com/devicejs/devicejs/report"
	rt "github.com/devicejs/devicejs/report/reporttest"
)

// chartFleet is a 60-second run whose publish rate swings between 0 and 1,000/s while errors
// (two codes) stay under 3/s, with interval latencies, an end-to-end probe, a storm and two
// thresholds, one crossed.
func chartFleet() fleet.Summary {
	s := fleet.Summary{Version: fleet.SummaryVersion, FleetSize: 100, Instances: 100, Shards: []string{"0/1"},
		ElapsedSeconds: 60, Connected: 100, Errors: map[string]uint64{"publish:11": 23993, "error:1": 2}}
	var pub, errs uint64
	for k := range 61 {
		s.Series = append(s.Series, fleet.Sample{T: float64(k), Started: 100, Connected: 100, Published: pub, Errors: errs,
			PublishP50MS: 10 + float64(k%5), PublishP99MS: 100 + float64(k), E2EP50MS: 20, E2EP99MS: 200 + float64(k%7)})
		pub += uint64(500 + 500*math.Sin(float64(k)/5))
		errs += uint64(k % 3)
	}
	s.PublishAttempts, s.PublishErrors, s.InFlightAtEnd = 1000, 10, 5
	s.Storms = []fleet.Storm{{StartSeconds: 20, ConnectionsLost: 100, RecoverySeconds: 2.5, Recovered: true, PublishesFailed: 10, PublishesRetried: 8}}
	var h fleet.Histogram
	h.Add(30e6) // 30 ms
	s.E2E = &fleet.E2E{Filter: "meters/#", Sent: 10, Latency: h}
	m, err := fleet.Merge(s)
	if err != nil {
		panic(err)
	}
	for _, expr := range []string{"publish_errors<100", "e2e_p99<1ms"} {
		th, err := fleet.ParseThreshold(expr)
		if err != nil {
			panic(err)
		}
		m.Thresholds = append(m.Thresholds, th.Evaluate(m))
	}
	return m
}

// span is the vertical extent, in SVG units, of a polyline's points.
func span(t *testing.T, n *html.Node) float64 {
	t.Helper()
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, p := range strings.Fields(rt.Attr(n, "points")) {
		_, ys, _ := strings.Cut(p, ",")
		y, err := strconv.ParseFloat(ys, 64)
		if err != nil {
			t.Fatalf("point %q", p)
		}
		lo, hi = min(lo, y), max(hi, y)
	}
	return hi - lo
}

// TestFleetChartsInChromium: on the rates chart errors have an axis of their own, so neither
// the publish curve (up to 1,000/s) nor the error curve (under 3/s) is flattened, and every
// error code has a legend entry; the latency chart draws the interval percentiles (publish and
// end-to-end); the thresholds say which held; the figures list the publishes' accounting, the
// end-to-end latency and the storm.
func TestFleetChartsInChromium(t *testing.T) {
	t.Parallel() // Chromium runs of its own; nothing shared
	rt.Chromium(t)
	s := chartFleet()
	doc := rt.Open(t, writePage(t, report.Data{Title: "charts", Fleet: report.NewFleet(s)}), rt.ArtifactDir(t)+"/charts.png", 1000, 1800)
	lines := rt.All(rt.ByID(doc, "rate-chart"), rt.HasClass("series"))
	if len(lines) != 3 {
		t.Fatalf("%d rate lines", len(lines))
	}
	const plotH = 160
	for _, l := range lines {
		cls := rt.Attr(l, "class")
		axis := rt.Attr(l, "data-axis")
		if strings.Contains(cls, "errors") != (axis == "right") {
			t.Errorf("line %q on the %s axis", cls, axis)
		}
		if strings.Contains(cls, "published") || strings.Contains(cls, "errors") {
			if sp := span(t, l); sp < plotH*0.8 {
				t.Errorf("line %q spans %.0f of %d units: flattened", cls, sp, plotH)
			}
		}
	}
	var codes []string
	for _, n := range rt.All(rt.ByID(doc, "rate-chart"), func(n *html.Node) bool { return rt.Attr(n, "data-error-code") != "" }) {
		codes = append(codes, rt.Attr(n, "data-error-code")+" "+rt.Text(n))
	}
	if len(codes) != 2 || !strings.HasPrefix(codes[0], "error:1 ") || !strings.Contains(codes[1], "publish:11: 23993") {
		t.Errorf("legend of error codes %q", codes)
	}
	if n := len(rt.All(rt.ByID(doc, "rate-chart"), func(n *html.Node) bool { return rt.Attr(n, "data-legend") != "" })); n != 3 {
		t.Errorf("%d legend entries for 3 lines", n)
	}
	lat := rt.All(rt.ByID(doc, "latency-chart"), rt.HasClass("series"))
	if len(lat) != 4 {
		t.Fatalf("%d latency lines, want publish p50, p99, e2e p50, p99", len(lat))
	}
	for _, l := range lat {
		if rt.Attr(l, "data-points") != "61" {
			t.Errorf("latency line %q has %s points, want 61", rt.Attr(l, "class"), rt.Attr(l, "data-points"))
		}
	}
	got := map[string]string{}
	for _, tr := range rt.All(rt.ByID(doc, "fleet-thresholds"), rt.HasClass("threshold")) {
		c := rt.Cells(tr)
		got[c[0]] = c[2]
	}
	if got["publish_errors<100"] != "held" || got["e2e_p99<1ms"] != "crossed" || len(got) != 2 {
		t.Errorf("thresholds %v", got)
	}
	fig := rt.Text(rt.ByID(doc, "fleet-figures"))
	for _, want := range []string{"1000 accepted = 985 completed + 10 failed + 5 in flight at the end", "end-to-end latency ms (meters/#)",
		"1 received of 10 sent", "storm 1", "all back after 2.50 s"} {
		if !strings.Contains(fig, want) {
			t.Errorf("figures lack %q:\n%s", want, fig)
		}
	}
}
