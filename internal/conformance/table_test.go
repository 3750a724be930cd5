package conformance

import (
	"strings"
	"testing"
	"time"
)

// TestConformanceTable checks the table's format: columns as wide as their widest cell (long
// broker addresses and names keep every column aligned with its header), TIME "-" for a
// skipped row, the summary line, one line per distinct skip reason, and failure details.
func TestConformanceTable(t *testing.T) {
	rows := []Row{
		{Scenario: "broker up", Sample: "sample1.js", Broker: "embedded", Wall: 1240 * time.Millisecond},
		{Scenario: "broker up", Sample: "sample3.js", Broker: "rabbitmq.internal.example.com:8883", Wall: time.Second},
		{Scenario: "restart-with-a-long-name", Sample: "sample5.js", Broker: "[::1]:1883", Failed: true,
			Message: "expected CONNECTED\nlast trace:\n  connack rc=5"},
		{Scenario: "broker down", Sample: "a-much-longer-sample-name.js", Broker: "x:1", Skipped: "needs control"},
		{Scenario: "broker down", Sample: "sample2.js", Broker: "x:1", Skipped: "needs control"},
	}
	out := Table(rows)
	lines := strings.Split(out, "\n")
	if f := strings.Fields(lines[0]); strings.Join(f, " ") != "SCENARIO SAMPLE BROKER RESULT TIME" {
		t.Fatalf("header %q", lines[0])
	}
	// Scenario names hold spaces: cells are read at the header's column offsets.
	col := map[string]int{}
	for _, h := range []string{"SAMPLE", "BROKER", "RESULT", "TIME"} {
		col[h] = strings.Index(lines[0], h)
	}
	cell := func(l string, from, to int) string { return strings.TrimSpace(l[from:min(to, len(l))]) }
	wantCells := [][2]string{{"PASS", "1.2s"}, {"PASS", "1s"}, {"FAIL", "0s"}, {"SKIP", "-"}, {"SKIP", "-"}}
	for i, l := range lines[1 : 1+len(rows)] {
		got := []string{cell(l, 0, col["SAMPLE"]), cell(l, col["SAMPLE"], col["BROKER"]), cell(l, col["BROKER"], col["RESULT"]),
			cell(l, col["RESULT"], col["TIME"]), cell(l, col["TIME"], len(l))}
		want := []string{rows[i].Scenario, rows[i].Sample, rows[i].Broker, wantCells[i][0], wantCells[i][1]}
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("row %q: cells %q, want %q", l, got, want)
		}
		for _, c := range []string{"SAMPLE", "BROKER", "RESULT", "TIME"} {
			if l[col[c]-1] != ' ' {
				t.Errorf("row %q: no space before the %s column", l, c)
			}
		}
	}
	for _, want := range []string{
		"\n2 passed, 1 failed, 2 skipped\n",
		"skipped broker down: needs control\n",
		"\nFAIL restart-with-a-long-name sample5.js [::1]:1883:\n  expected CONNECTED\n  last trace:\n    connack rc=5\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
	if n := strings.Count(out, "skipped broker down:"); n != 1 {
		t.Errorf("skip reason listed %d times, want once", n)
	}
}

// TestConformanceRowStatus checks that a skip wins over a failure flag.
func TestConformanceRowStatus(t *testing.T) {
	for _, tc := range []struct {
		row  Row
		want string
	}{
		{Row{}, "PASS"},
		{Row{Failed: true}, "FAIL"},
		{Row{Skipped: "why"}, "SKIP"},
		{Row{Skipped: "why", Failed: true}, "SKIP"},
	} {
		if got := tc.row.Status(); got != tc.want {
			t.Errorf("%+v: %s, want %s", tc.row, got, tc.want)
		}
	}
}
