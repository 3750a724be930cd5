package devtest

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/devicejs/devicejs/mqttcore"
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

// WriteOptions say what Write adds to the line of each test.
type WriteOptions struct {
	// TraceOnFail adds every device's full trace and output to a failed test.
	TraceOnFail bool
	// Verbose adds, to every test that ran, what the test file printed during it and one
	// line per device (VerboseDevice).
	Verbose bool
	// Replay is the replay command printed under a failed test; nil means
	// ReplayCommand(r).
	Replay func(r TestResult) string
}

// WriteFile writes the human lines of one file: one line per test, failure details indented
// (with the seed and the command that replays the test), and with traceOnFail every device's
// full trace and output for failed tests.
func WriteFile(w io.Writer, f FileResult, traceOnFail bool) {
	Write(w, f, WriteOptions{TraceOnFail: traceOnFail})
}

// Write is WriteFile with options.
func Write(w io.Writer, f FileResult, o WriteOptions) {
	replay := o.Replay
	if replay == nil {
		replay = func(r TestResult) string { return ReplayCommand(r) }
	}
	for _, r := range f.Tests {
		switch r.Status {
		case Passed:
			fmt.Fprintf(w, "ok   %s: %s (%s, %s device time)\n", f.File, r.Name, round(r.Wall), deviceTime(r.DeviceMs))
		case Skipped:
			fmt.Fprintf(w, "skip %s: %s (%s)\n", f.File, r.Name, r.Message)
		case Failed:
			fmt.Fprintf(w, "FAIL %s: %s (%s, %s device time)\n", f.File, r.Name, round(r.Wall), deviceTime(r.DeviceMs))
			fmt.Fprint(w, indent(r.Message, "    "))
			fmt.Fprintf(w, "    seed %d (test seed %d); replay: %s\n", r.Seed, r.TestSeed, replay(r))
			if o.TraceOnFail {
				writeTraces(w, r)
			}
		}
		if o.Verbose && r.Status != Skipped && !(o.TraceOnFail && r.Status == Failed) {
			writeVerbose(w, r)
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

// writeVerbose writes what the test printed and one line per device.
func writeVerbose(w io.Writer, r TestResult) {
	if r.Output != "" {
		fmt.Fprintf(w, "    test output:\n%s", indent(r.Output, "      "))
	}
	for _, d := range r.Devices {
		fmt.Fprintf(w, "    %s\n", VerboseDevice(d))
	}
}

// VerboseDevice is the one-line summary of a device of a test (-v, JUnit system-out): its
// script, client id, how it ended, and how many connections, publishes, messages, errors and
// printed lines it had.
func VerboseDevice(d DeviceTrace) string {
	var conn, pub, msg, errs int
	for _, t := range d.Trace {
		switch t.Event.Kind {
		case mqttcore.TraceConnack:
			conn++
		case mqttcore.TracePublish:
			pub++
		case mqttcore.TraceMessage:
			msg++
		case mqttcore.TraceError, mqttcore.TraceConnectFailed:
			errs++
		}
	}
	id := d.ClientID
	if id == "" {
		id = "(never connected)"
	}
	return fmt.Sprintf("device %s: client %s, %s; %d connected, %d published, %d received, %d errors, %d lines printed",
		d.Script, id, d.Ending, conn, pub, msg, errs, len(d.Lines))
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
	Name       string      `xml:"name,attr"`
	Tests      int         `xml:"tests,attr"`
	Failures   int         `xml:"failures,attr"`
	Errors     int         `xml:"errors,attr"`
	Skipped    int         `xml:"skipped,attr"`
	Time       string      `xml:"time,attr"`
	Properties *junitProps `xml:"properties,omitempty"`
	Cases      []junitCase `xml:"testcase"`
}

type junitProps struct {
	Props []junitProp `xml:"property"`
}

type junitProp struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name       string        `xml:"name,attr"`
	ClassName  string        `xml:"classname,attr"`
	Time       string        `xml:"time,attr"`
	Properties *junitProps   `xml:"properties,omitempty"`
	Failure    *junitMessage `xml:"failure,omitempty"`
	Error      *junitMessage `xml:"error,omitempty"`
	Skipped    *junitMessage `xml:"skipped,omitempty"`
	SystemOut  string        `xml:"system-out,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Body    string `xml:",chardata"`
}

func secs(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }

// WriteJUnit writes results as JUnit XML: one testsuite per file, one testcase per test; a
// file that failed outside its tests is a testcase with an <error>. Each testcase that ran has
// the properties seed, testSeed and replay (the command that replays it), and a system-out:
// for a failed test every device's trace and output, for a passed one what the test printed
// and one line per device.
func WriteJUnit(w io.Writer, results []FileResult) error {
	return WriteJUnitReplay(w, results, nil)
}

// WriteJUnitReplay is WriteJUnit with the replay command of WriteOptions.Replay (nil:
// ReplayCommand).
func WriteJUnitReplay(w io.Writer, results []FileResult, replay func(TestResult) string) error {
	if replay == nil {
		replay = func(r TestResult) string { return ReplayCommand(r) }
	}
	var all junitSuites
	var total time.Duration
	for _, f := range results {
		s := junitSuite{Name: f.File, Time: secs(f.Wall)}
		total += f.Wall
		for _, r := range f.Tests {
			c := junitCase{Name: r.Name, ClassName: f.File, Time: secs(r.Wall)}
			if r.Status != Skipped {
				if s.Properties == nil {
					s.Properties = &junitProps{Props: []junitProp{{"seed", fmt.Sprint(r.Seed)}}}
				}
				c.Properties = &junitProps{Props: []junitProp{{"seed", fmt.Sprint(r.Seed)},
					{"testSeed", fmt.Sprint(r.TestSeed)}, {"replay", replay(r)}}}
			}
			first, _, _ := strings.Cut(r.Message, "\n")
			switch r.Status {
			case Failed:
				c.Failure = &junitMessage{Message: first, Body: r.Message}
				s.Failures++
			case Skipped:
				c.Skipped = &junitMessage{Message: r.Message}
				s.Skipped++
			}
			var b strings.Builder
			switch r.Status {
			case Failed:
				writeTraces(&b, r)
			case Passed:
				writeVerbose(&b, r)
			}
			c.SystemOut = b.String()
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
