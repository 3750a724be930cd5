package conformance

import (
	"fmt"
	"strings"
	"time"
)

// Row is one line of the `devicejs conformance` table: one scenario for one sample
// on one broker.
type Row struct {
	Scenario string // e.g. "broker restart"
	Sample   string // e.g. "sample5.js"
	Broker   string // "embedded", --broker, or --tls-broker for a TLS sample
	Skipped  string // why it did not run ("" = it ran)
	Failed   bool
	Message  string // failure details
	Wall     time.Duration
}

// Status is "PASS", "FAIL" or "SKIP".
func (r Row) Status() string {
	switch {
	case r.Skipped != "":
		return "SKIP"
	case r.Failed:
		return "FAIL"
	}
	return "PASS"
}

// Table formats rows as a table with the columns SCENARIO SAMPLE BROKER RESULT TIME,
// each as wide as its widest cell, then the summary line "N passed, N failed, N skipped", one
// line per distinct skip reason of a scenario, and the details of each failure.
func Table(rows []Row) string {
	var b strings.Builder
	wScenario, wSample, wBroker := len("SCENARIO"), len("SAMPLE"), len("BROKER")
	for _, r := range rows {
		wScenario, wSample, wBroker = max(wScenario, len(r.Scenario)), max(wSample, len(r.Sample)), max(wBroker, len(r.Broker))
	}
	line := fmt.Sprintf("%%-%ds %%-%ds %%-%ds %%-6s %%s\n", wScenario, wSample, wBroker)
	fmt.Fprintf(&b, line, "SCENARIO", "SAMPLE", "BROKER", "RESULT", "TIME")
	counts := map[string]int{}
	for _, r := range rows {
		wall := "-"
		if r.Skipped == "" {
			wall = r.Wall.Round(100 * time.Millisecond).String()
		}
		fmt.Fprintf(&b, line, r.Scenario, r.Sample, r.Broker, r.Status(), wall)
		counts[r.Status()]++
	}
	fmt.Fprintf(&b, "\n%d passed, %d failed, %d skipped\n", counts["PASS"], counts["FAIL"], counts["SKIP"])
	reasons := map[string]bool{}
	for _, r := range rows {
		switch {
		case r.Skipped != "" && !reasons[r.Scenario+"\x00"+r.Skipped]:
			reasons[r.Scenario+"\x00"+r.Skipped] = true
			fmt.Fprintf(&b, "skipped %s: %s\n", r.Scenario, r.Skipped)
		case r.Failed:
			fmt.Fprintf(&b, "\nFAIL %s %s %s:\n", r.Scenario, r.Sample, r.Broker)
			fmt.Fprintf(&b, "  %s\n", strings.ReplaceAll(strings.TrimRight(r.Message, "\n"), "\n", "\n  "))
		}
	}
	return b.String()
}
