package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/devicejs/devicejs/fleet"
	"github.com/devicejs/devicejs/report"
)

// ReportOptions are the inputs of `devicejs report`.
type ReportOptions struct {
	IO     *IOStreams
	Files  []string // --trace-json files and/or --summary-json files, told apart by content
	Output string   // -o: the HTML file to write
	Title  string   // --title
}

// NewCmdReport builds `devicejs report`. runF replaces the work in tests of flag parsing.
func NewCmdReport(ios *IOStreams, runF func(*ReportOptions) error) *cobra.Command {
	opts := &ReportOptions{IO: ios}
	cmd := &cobra.Command{
		Use:   "report [flags] <trace.jsonl | summary.json>...",
		Short: "Write an HTML report of a trace or a fleet summary",
		Long: `Write one self-contained HTML file (styles, script and data inside; no network needed to
open it) from the --trace-json files of 'devicejs run' and the --summary-json files of
'devicejs fleet': a zoomable swim-lane timeline in device time of each device, its broker and
its peers (connects, subscribes, publishes linked to their completions, messages, errors and
reconnect waits; hover or click an event for its fields; filter by topic or client), and for a
fleet the connect-latency histogram, connected devices and message rates over time, errors by
code and the slowest devices.

Each file is read as a fleet summary when it is one JSON object of that shape, else as trace
JSON lines; traces of earlier versions work (unknown fields and kinds are shown as they are,
unreadable lines are counted). Several traces are drawn together; several summaries are
merged as by 'devicejs fleet merge'. See docs/report.md.`,
		Example: `  $ devicejs run --broker embedded --for 60s --trace-json trace.jsonl sample5.js
  $ devicejs report trace.jsonl -o report.html

  $ devicejs report --title "fleet of 10,000" fleet.json -o fleet.html`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageError(fmt.Errorf("report takes one or more trace or summary files"))
			}
			return nil
		},
		RunE: func(_ *cobra.Command, args []string) error {
			opts.Files = args
			if opts.Output == "" {
				return usageError(fmt.Errorf("-o is required: the HTML file to write"))
			}
			if runF != nil {
				return runF(opts)
			}
			return reportRun(opts)
		},
	}
	cmd.Flags().StringVarP(&opts.Output, "output", "o", "", "the HTML file to write (required)")
	cmd.Flags().StringVar(&opts.Title, "title", "", "the report's title (default: the input file names)")
	return cmd
}

func reportRun(opts *ReportOptions) error {
	d := report.Data{Title: opts.Title}
	if d.Title == "" {
		names := make([]string, len(opts.Files))
		for i, f := range opts.Files {
			names[i] = filepath.Base(f)
		}
		d.Title = "devicejs report: " + strings.Join(names, ", ")
	}
	var sums []fleet.Summary
	for _, name := range opts.Files {
		b, err := os.ReadFile(name)
		if err != nil {
			return usageError(err)
		}
		if s, ok := readSummaryLenient(b); ok {
			sums = append(sums, s)
			continue
		}
		tr, err := report.ReadTrace(bytes.NewReader(b))
		if err != nil {
			return usageError(fmt.Errorf("%s: %w", name, err))
		}
		if len(tr.Events) == 0 {
			return usageError(fmt.Errorf("%s: neither a fleet summary nor a trace with any event", name))
		}
		if d.Trace == nil {
			d.Trace = tr
		} else {
			d.Trace.Events = append(d.Trace.Events, tr.Events...)
			d.Trace.Skipped += tr.Skipped
		}
	}
	if len(sums) > 0 {
		m, err := fleet.Merge(sums...)
		if err != nil {
			return usageError(err)
		}
		if len(sums) == 1 {
			m = sums[0] // as written: Merge would recompute nothing new
		}
		d.Fleet = report.NewFleet(m)
	}
	if err := writeReportFile(opts.Output, d); err != nil {
		return withExitCode(ExitScriptError, err)
	}
	return nil
}

// writeReportFile writes the page to path through a temporary file, so a reader never sees
// half a report.
func writeReportFile(path string, d report.Data) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".report-*.html")
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := report.Write(tmp, d); err != nil {
		tmp.Close()
		return fmt.Errorf("report: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return os.Rename(tmp.Name(), path)
}

// readSummaryLenient decodes b as a fleet summary when it is one JSON object with "version" and
// "fleet_size": fields this version does not know (a summary of a later devicejs) are ignored,
// unlike fleet.ReadSummary.
func readSummaryLenient(b []byte) (fleet.Summary, bool) {
	var probe map[string]json.RawMessage
	if json.Unmarshal(b, &probe) != nil || probe["version"] == nil || probe["fleet_size"] == nil {
		return fleet.Summary{}, false
	}
	var s fleet.Summary
	if json.Unmarshal(b, &s) != nil || s.Version < 1 {
		return fleet.Summary{}, false
	}
	return s, true
}
