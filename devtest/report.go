package devtest

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"time"
)

// Totals counts test outcomes.
type Totals struct {
	Passed, Failed, Skipped, FileErrors int
}

// Count sums the outcomes of results.
func Count(results []FileResult) Totals {
	var t Totals
	for _, f := range results {
		if f.Err != nil {
			t.FileErrors++
		}
		for _, r := range f.Tests {
			switch r.Status {
			case Passed:
				t.Passed++
			case Failed:
				t.Failed++
			case Skipped:
				t.Skipped++
			}
		}
	}
	return t
}

// WriteFile writes the human lines of one file: one line per test, failure details indented,
// and with traceOnFail every device's full trace and output for failed tests.
func WriteFile(w io.Writer, f FileResult, traceOnFail bool) {
	for _, r := range f.Tests {
		switch r.Status {
		case Passed:
			fmt.Fprintf(w, "ok   %s: %s (%s, %s device time)\n", f.File, r.Name, round(r.Wall), deviceTime(r.DeviceMs))
		case Skipped:
			fmt.Fprintf(w, "skip %s: %s (%s)\n", f.File, r.Name, r.Message)
		case Failed:
			fmt.Fprintf(w, "FAIL %s: %s (%s, %s device time)\n", f.File, r.Name, round(r.Wall), deviceTime(r.DeviceMs))
			fmt.Fprint(w, indent(r.Message, "    "))
			if traceOnFail {
				writeTraces(w, r)
			}
		}
	}
	if f.Err != nil {
		fmt.Fprintf(w, "FAIL %s: %v\n", f.File, f.Err)
	}
}

func writeTraces(w io.Writer, r TestResult) {
	if r.Output != "" {
		fmt.Fprintf(w, "    test output:\n%s", indent(r.Output, "      "))
	}
	for _, d := range r.Devices {
		fmt.Fprintf(w, "    trace of %s:\n%s", d.Script, indent(FormatTrace(d.Trace), "      "))
		fmt.Fprintf(w, "    printed by %s:\n", d.Script)
		var b strings.Builder
		for _, l := range d.Lines {
			fmt.Fprintf(&b, "%8dms %s\n", l.AtMs, l.Text)
		}
		fmt.Fprint(w, indent(b.String(), "      "))
	}
}

// WriteSummary writes the closing summary line.
func WriteSummary(w io.Writer, results []FileResult, wall time.Duration) {
	t := Count(results)
	status := "PASS"
	if t.Failed > 0 || t.FileErrors > 0 {
		status = "FAIL"
	}
	fmt.Fprintf(w, "%s: %d passed, %d failed, %d skipped", status, t.Passed, t.Failed, t.Skipped)
	if t.FileErrors > 0 {
		fmt.Fprintf(w, ", %d files with errors", t.FileErrors)
	}
	fmt.Fprintf(w, " in %d files (%s)\n", len(results), round(wall))
}

func round(d time.Duration) time.Duration { return d.Round(time.Millisecond) }

func deviceTime(ms int64) string { return (time.Duration(ms) * time.Millisecond).String() }

// JUnit XML (the schema Jenkins, GitLab and GitHub test reporters read).
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Time     string      `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	ClassName string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitMessage `xml:"failure,omitempty"`
	Error     *junitMessage `xml:"error,omitempty"`
	Skipped   *junitMessage `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Body    string `xml:",chardata"`
}

func secs(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }

// WriteJUnit writes results as JUnit XML: one testsuite per file, one testcase per test; a
// file that failed outside its tests is a testcase with an <error>.
func WriteJUnit(w io.Writer, results []FileResult) error {
	var all junitSuites
	var total time.Duration
	for _, f := range results {
		s := junitSuite{Name: f.File, Time: secs(f.Wall)}
		total += f.Wall
		for _, r := range f.Tests {
			c := junitCase{Name: r.Name, ClassName: f.File, Time: secs(r.Wall)}
			first, _, _ := strings.Cut(r.Message, "\n")
			switch r.Status {
			case Failed:
				c.Failure = &junitMessage{Message: first, Body: r.Message}
				s.Failures++
			case Skipped:
				c.Skipped = &junitMessage{Message: r.Message}
				s.Skipped++
			}
			if r.Status == Failed {
				var b strings.Builder
				writeTraces(&b, r)
				c.SystemOut = b.String()
			}
			s.Cases = append(s.Cases, c)
			s.Tests++
		}
		if f.Err != nil {
			s.Cases = append(s.Cases, junitCase{Name: "(file)", ClassName: f.File,
				Error: &junitMessage{Message: firstLine(f.Err.Error()), Body: f.Err.Error()}})
			s.Errors++
			s.Tests++
		}
		all.Tests += s.Tests
		all.Failures += s.Failures
		all.Errors += s.Errors
		all.Skipped += s.Skipped
		all.Suites = append(all.Suites, s)
	}
	all.Time = secs(total)
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(all); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func firstLine(s string) string { l, _, _ := strings.Cut(s, "\n"); return l }
