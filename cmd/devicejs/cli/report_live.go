package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/spf13/pflag"

	"github.com/devicejs/devicejs/fleet"
	"github.com/devicejs/devicejs/mqttcore"
	"github.com/devicejs/devicejs/report"
)

// ReportFlags are --report and --ui of `run` and `fleet`.
type ReportFlags struct {
	Report string // --report: write the HTML report to this file when the run ends
	UI     string // --ui: serve the report live on this address (PORT, :PORT or HOST:PORT)
	// Series (--report-series, hidden): a worker of `fleet --workers` records the series and
	// the slowest instances into its summary for its supervisor's --report, and writes no report.
	Series bool
}

func addReportFlags(f *pflag.FlagSet, r *ReportFlags) {
	f.StringVar(&r.Report, "report", "", "write an HTML report of the run to this file when it ends (see 'devicejs report')")
	f.StringVar(&r.UI, "ui", "", "serve the report live while the run goes on, e.g. 127.0.0.1:8080 (PORT or :PORT bind loopback)")
}

// reportSeriesFlag is the hidden flag with which `fleet --workers` asks its workers for
// ReportFlags.Series.
const reportSeriesFlag = "report-series"

func addReportSeriesFlag(f *pflag.FlagSet, r *ReportFlags) {
	f.BoolVar(&r.Series, reportSeriesFlag, false, "record the series and the slowest instances in the summary (for fleet --workers)")
	_ = f.MarkHidden(reportSeriesFlag)
}

// reporting is the --report and --ui of one run; its methods do nothing when neither was given.
type reporting struct {
	flags ReportFlags
	ios   *IOStreams
	title string
	live  *report.Live
}

// startReporting checks --report (the file can be created) and starts --ui's server, whose
// page shows snapshot. Errors are usage errors.
func startReporting(ios *IOStreams, flags ReportFlags, title string, snapshot func() report.Data) (*reporting, error) {
	r := &reporting{flags: flags, ios: ios, title: title}
	if flags.Report != "" {
		f, err := os.OpenFile(flags.Report, os.O_WRONLY|os.O_CREATE, 0o644)
		if err != nil {
			return nil, usageError(fmt.Errorf("--report: %w", err))
		}
		f.Close()
	}
	if flags.UI != "" {
		addr, remote, err := report.ResolveUIAddr(flags.UI)
		if err != nil {
			return nil, usageError(err)
		}
		if remote {
			fmt.Fprintf(ios.ErrOut, "devicejs: warning: --ui %s serves the report beyond this machine, without authentication\n", addr)
		}
		if r.live, err = report.ListenLive(addr, snapshot); err != nil {
			return nil, usageError(err)
		}
		fmt.Fprintf(ios.ErrOut, "devicejs: live report at %s\n", r.live.URL())
	}
	return r, nil
}

func (r *reporting) enabled() bool { return r.flags.Report != "" || r.flags.UI != "" }

// finish writes --report and sends live pages the final data. A failure is reported on stderr
// and does not change the run's exit code.
func (r *reporting) finish(d report.Data) {
	d.Title = r.title
	if r.flags.Report != "" {
		if err := writeReportFile(r.flags.Report, d); err != nil {
			fmt.Fprintf(r.ios.ErrOut, "devicejs: --report: %v\n", err)
		}
	}
	if r.live != nil {
		_ = r.live.Close(d)
	}
}

// runReport is the reporting of `devicejs run`: the trace file (--trace-json, or a temporary
// one) is followed by the live view and read whole for the report when the run ends.
type runReport struct {
	*reporting
	tracePath string
	temp      bool
	tail      *report.TraceTail
}

// startRunReport sets opts.TraceJSON to a temporary file when the report needs a trace and
// none was asked for. Call finish after the tracer is closed.
func startRunReport(opts *RunOptions) (*runReport, error) {
	rr := &runReport{}
	if opts.Reporting.Report == "" && opts.Reporting.UI == "" {
		rr.reporting = &reporting{}
		return rr, nil
	}
	if opts.TraceJSON == "" {
		f, err := os.CreateTemp("", "devicejs-trace-*.jsonl")
		if err != nil {
			return nil, usageError(fmt.Errorf("--report: %w", err))
		}
		f.Close()
		opts.TraceJSON, rr.temp = f.Name(), true
	}
	rr.tracePath = opts.TraceJSON
	if opts.Reporting.UI != "" && opts.MaxMemory > 0 {
		// The budget watches the process's heap: the live page's is the host's, not the
		// script's, so the budget grows by the page's bound.
		opts.MaxMemory += byteSize(report.LiveMemoryBound)
	}
	rr.tail = report.NewTraceTail(rr.tracePath)
	title := "devicejs run " + filepath.Base(opts.ScriptPath)
	rep, err := startReporting(opts.IO, opts.Reporting, title, func() report.Data {
		return report.Data{Title: title, Trace: rr.tail.Snapshot()}
	})
	if err != nil {
		rr.cleanup()
		return nil, err
	}
	rr.reporting = rep
	return rr, nil
}

func (rr *runReport) cleanup() {
	if rr.temp {
		os.Remove(rr.tracePath)
	}
}

// finish reads the whole trace and writes the report.
func (rr *runReport) finish() {
	if !rr.enabled() {
		return
	}
	defer rr.cleanup()
	d := report.Data{}
	if f, err := os.Open(rr.tracePath); err == nil {
		d.Trace, err = report.ReadTrace(f)
		f.Close()
		if err != nil {
			fmt.Fprintf(rr.ios.ErrOut, "devicejs: --report: %v\n", err)
		}
	}
	rr.reporting.finish(d)
}

// fleetReport is the reporting of `devicejs fleet`: a recorder fed by the instances' trace
// events and the fleet's progress.
type fleetReport struct {
	*reporting
	rec      *report.FleetRecorder
	fl       atomic.Pointer[fleet.Fleet]    // set by start, read by the live view
	settings atomic.Pointer[fleet.Settings] // set by start, shown by the live view
}

// startFleetReport returns the fleet's reporting and the Trace hook to install (nil when there
// is no report).
func startFleetReport(opts *FleetOptions) (*fleetReport, func(mqttcore.TraceEvent), error) {
	fr := &fleetReport{reporting: &reporting{flags: opts.Reporting}}
	if !fr.enabled() {
		if opts.Reporting.Series {
			fr.rec = report.NewFleetRecorder()
			return fr, fr.rec.Trace, nil
		}
		return fr, nil, nil
	}
	fr.rec = report.NewFleetRecorder()
	title := fmt.Sprintf("devicejs fleet -n %d %s", opts.N, filepath.Base(opts.ScriptPath))
	rep, err := startReporting(opts.IO, opts.Reporting, title, func() report.Data {
		n := opts.N
		if fl := fr.fl.Load(); fl != nil {
			lo, hi := fl.Indices()
			n = hi - lo
		}
		s := fr.rec.Snapshot(opts.N, n)
		s.Settings = fr.settings.Load()
		return report.Data{Title: title, Fleet: report.NewFleet(s)}
	})
	if err != nil {
		return nil, nil, err
	}
	fr.reporting = rep
	return fr, fr.rec.Trace, nil
}

// start begins sampling fl's progress once a second; the live view shows settings.
func (fr *fleetReport) start(fl *fleet.Fleet, settings *fleet.Settings) {
	if fr.rec == nil {
		return
	}
	fr.settings.Store(settings)
	fr.fl.Store(fl)
	fr.rec.SetLoad(fl.LoadSnapshot)
	fr.rec.Start(fl.Progress, time.Second)
}

// fill adds the series and the slowest instances to the final summary.
func (fr *fleetReport) fill(sum *fleet.Summary) {
	if fr.rec == nil {
		return
	}
	fr.rec.Stop()
	fr.rec.Fill(sum)
}

// finish writes the report of the final summary.
func (fr *fleetReport) finish(sum fleet.Summary) {
	if fr.enabled() {
		fr.reporting.finish(report.Data{Fleet: report.NewFleet(sum)})
	}
}
