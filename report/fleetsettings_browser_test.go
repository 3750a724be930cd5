package report_test

import (
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/devicejs/devicejs/fleet"
	"github.com/devicejs/devicejs/report"
	rt "github.com/devicejs/devicejs/report/reporttest"
)

// TestFleetReportSettingsInChromium: the fleet report lists the run's settings (summary
// "settings") as text, a hostile value included; a summary without settings has no such rows.
func TestFleetReportSettingsInChromium(t *testing.T) {
	t.Parallel() // Chromium runs of its own; nothing shared
	rt.Chromium(t)
	s := fleet10k()
	s.Settings = &fleet.Settings{Version: "v1.2.3", Broker: "embedded", Link: hostileTopic, Ramp: "30s", For: "10m0s",
		TimeScale: 10, Shard: "3/8", ScriptSHA256: strings.Repeat("ab", 32)}
	doc := rt.DOM(t, writePage(t, report.Data{Title: "fleet settings", Fleet: report.NewFleet(s)}))
	rows := rt.All(doc, rt.HasClass("setting"))
	got := map[string]string{}
	for _, r := range rows {
		c := rt.Cells(r)
		if len(c) != 2 {
			t.Fatalf("setting row %v", c)
		}
		got[c[0]] = c[1]
	}
	want := map[string]string{"devicejs": "v1.2.3", "broker": "embedded", "link": hostileTopic, "ramp": "30s",
		"for (device time)": "10m0s", "time scale": "10", "shard": "3/8", "script sha256": strings.Repeat("ab", 32)}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("setting %q = %q, want %q", k, got[k], v)
		}
	}
	if n := len(rt.All(doc, func(n *html.Node) bool { return rt.Attr(n, "data-pwned") != "" })); n != 0 {
		t.Errorf("a hostile --link ran as script")
	}

	s.Settings = nil
	doc = rt.DOM(t, writePage(t, report.Data{Title: "no settings", Fleet: report.NewFleet(s)}))
	if n := len(rt.All(doc, rt.HasClass("setting"))); n != 0 {
		t.Errorf("%d setting rows without settings", n)
	}
}
