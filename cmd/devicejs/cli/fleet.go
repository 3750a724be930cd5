package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/devicejs/devicejs"
	"github.com/devicejs/devicejs/broker"
	"github.com/devicejs/devicejs/fleet"
	"github.com/devicejs/devicejs/internal/childproc"
)

// fleetBrokerQueue is the embedded broker's per-client outbound queue (broker.Config
// MaxPendingWrites) under `devicejs fleet --broker embedded`: 1024 slots, 8 KiB per client
// instead of mochi's 64 KiB default. docs/fleet.md says what a full queue drops.
const fleetBrokerQueue = 1024

// FleetOptions are the inputs of `devicejs fleet`. The embedded RunOptions hold the flags
// shared with `devicejs run` (--for, --timeout, --time-scale, --broker, --ssl-*).
type FleetOptions struct {
	RunOptions
	N           int           // -n: instances in the whole fleet
	ClientID    string        // --client-id template ("{i}" = index); "" = script's id + index
	Ramp        time.Duration // --ramp: spread the starts over this wall time
	Quiet       bool          // --quiet: no print() output
	SummaryJSON string        // --summary-json: write the summary as JSON to this file
	Shard       fleet.Shard   // --shard i/n (0-based i), or auto/n from JOB_COMPLETION_INDEX
	// Progress forces (true) or suppresses (false) the live progress line; nil means "when
	// stderr is a terminal".
	Progress  *bool
	MaxMemory fleetMemory // --max-memory: heap budget of the whole fleet (all its processes)
	Workers   int         // --workers: run the instances in this many worker processes; 0 = in this one
	// NoticeFD is the hidden --worker-notice-fd: the worker side of --workers writes its
	// instances' clientIds and endings there (fleet.Notice lines) and no text summary.
	NoticeFD int
	flags    *pflag.FlagSet // the parsed flags, re-emitted for the workers
	// Thresholds are the --threshold criteria as given; thresholds once parsed
	// (fleetthreshold.go). A crossed one exits ExitThreshold.
	Thresholds []string
	thresholds []fleet.Threshold
	// ProgressInterval (--progress-interval) is how often a key=value progress line is written
	// when stderr is not a terminal; 0 = never (fleetprogress.go).
	ProgressInterval time.Duration
	Metrics          string // --metrics: serve the figures in the Prometheus text format here (metrics.go)
	// E2EProbe (--e2e-probe) is an MQTT topic filter: the end-to-end latency of the instances'
	// publishes on matching topics to their receipt by an instance (fleet.Config.E2EFilter).
	E2EProbe string
	// E2ESubscriber (--e2e-subscriber URL) adds the fleet's own probe subscriber to E2EProbe's
	// filter (fleet.Config.E2ESubscriberURL).
	E2ESubscriber string
	metricsAddr   string // Metrics resolved
}

// NewCmdFleet builds `devicejs fleet` and its `merge` subcommand. runF replaces the run in tests
// of flag parsing.
func NewCmdFleet(ios *IOStreams, runF func(*FleetOptions) error) *cobra.Command {
	opts := &FleetOptions{RunOptions: RunOptions{IO: ios}}
	var shard string
	cmd := &cobra.Command{
		Use:   "fleet -n N [flags] <script.js>",
		Short: "Run N copies of a device script in one process",
		Long: `Run N independent instances of a device script in one process, each with its own
runtime, mqtt object and session, as a fleet of devices: to load-test a broker or a back end.

Each instance's clientId comes from --client-id, a template in which {i} is the instance index
(0 .. N-1); without it, a script that sets a clientId gets the index appended to it and one
that does not gets a device default id (random, distinct within the process). print() lines are prefixed with the index
("[17] CONNECTED") unless --quiet. On a terminal a progress line is kept on stderr; elsewhere
(CI, nohup, kubectl logs) a key=value progress line is written every --progress-interval, and
--metrics ADDR serves the same figures in the Prometheus text format. At the end a summary
(connect latency percentiles, publish and message rates, errors by code, reconnects) is
written to stderr, and as JSON, with the run's settings, to --summary-json.

--shard i/n runs only the i-th (0-based) of n equal slices of the N instances, with their
global indices, so one fleet can span machines (a Kubernetes Indexed Job: --shard auto/n takes
i from JOB_COMPLETION_INDEX); 'devicejs fleet merge' combines the shards' JSON summaries.
--for is device time counted from each instance's own start. See docs/fleet.md.

--threshold 'publish_p99<500ms' (repeatable; also errors_rate<0.1%, connect_p99<2s, ...) makes
the run a pass/fail test: the summary says which held, and a crossed one exits 4. Publishes
still in flight when --for ends are counted as in_flight_at_end, never as errors.

--e2e-probe FILTER times every publish of the instances on a topic matching FILTER to its
receipt by an instance (a command answered on a reply topic, devices that talk to each other,
or one instance subscribed as the probe; --e2e-subscriber URL adds a probe subscriber of the
fleet's own): p50/p90/p99/max in the summary, e2e_p99<500ms as a threshold.

--max-memory bounds the heap of the whole fleet (instances are ended when it is outgrown);
--workers N runs the instances in N worker processes, each with its share of the budget, so
that a leaking device ends only its worker's instances; the summary lists every ended instance
(index, clientId, reason). --timeout and a first signal stop the fleet within seconds, even
when an instance is stuck in a long built-in call (2 s later it exits anyway).

Exit codes: 0 every instance finished or ran --for, 1 some instance ended with a script error
(the count and the first error are printed), at the memory budget or in a crashed worker,
2 usage error, 3 --timeout elapsed, 4 a --threshold was crossed (and nothing else failed),
130 interrupted (SIGINT), 143 terminated (SIGTERM). A second signal exits at once with its own
code, after writing the summary and ending the workers.`,
		Example: `  # 1,000 devices of sample 5 against the embedded broker for 10 minutes, started over 30 s
  $ devicejs fleet -n 1000 --ramp 30s --broker embedded --for 10m --quiet sample5.js

  # slice 3 of 8 of a 100,000-device fleet against a real broker, ids dev-0 .. dev-99999
  $ devicejs fleet -n 100000 --shard 3/8 --client-id 'dev-{i}' --broker 10.0.0.5:1883 \
      --summary-json shard3.json --for 1h --quiet device.js

  # 20 devices in 20 worker processes, 1 GiB in all: a leaking device ends alone
  $ devicejs fleet -n 20 --workers 20 --max-memory 1GiB --broker 10.0.0.5:1883 device.js

  # combine the shards' summaries
  $ devicejs fleet merge --summary-json fleet.json shard*.json`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageError(fmt.Errorf("fleet takes exactly one script file, got %d arguments", len(args)))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.ScriptPath = args[0]
			if err := validateDeviceFlags(&opts.RunOptions); err != nil {
				return err
			}
			if opts.N < 1 {
				return usageError(fmt.Errorf("-n must be at least 1, got %d", opts.N))
			}
			if opts.Ramp < 0 {
				return usageError(errors.New("--ramp must not be negative"))
			}
			if shard != "" {
				s, err := fleet.ParseShard(shard, os.Getenv)
				if err != nil {
					return usageError(fmt.Errorf("--shard: %w", err))
				}
				opts.Shard = s
			}
			if err := validateWorkers(opts, shard != ""); err != nil {
				return err
			}
			ts, err := parseThresholds(opts.Thresholds)
			if err != nil {
				return err
			}
			opts.thresholds = ts
			if err := validateFleetLive(opts); err != nil {
				return err
			}
			if cmd.Flags().Changed("e2e-probe") {
				if err := fleet.ValidateE2EFilter(opts.E2EProbe); err != nil {
					return usageError(fmt.Errorf("--e2e-probe: %w", err))
				}
			}
			if cmd.Flags().Changed("e2e-subscriber") {
				if opts.E2EProbe == "" {
					return usageError(errors.New("--e2e-subscriber needs --e2e-probe (the topic filter it subscribes to)"))
				}
				if err := fleet.ValidateProbeURL(opts.E2ESubscriber); err != nil {
					return usageError(fmt.Errorf("--e2e-subscriber: %w", err))
				}
			}
			opts.flags = cmd.Flags()
			if runF != nil {
				return runF(opts)
			}
			reexecWithStackStart() // once, before anything starts (stackstart.go)
			return fleetRun(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.IntVarP(&opts.N, "instances", "n", 0, "number of instances in the whole fleet (required)")
	f.StringVar(&opts.ClientID, "client-id", "", "clientId template, {i} = instance index (default: the script's clientId + index)")
	f.DurationVar(&opts.Ramp, "ramp", 0, "spread the instances' starts evenly over this wall time")
	f.BoolVarP(&opts.Quiet, "quiet", "q", false, "discard the instances' print() output")
	f.StringVar(&opts.SummaryJSON, "summary-json", "", "write the final summary as JSON to this file")
	f.StringVar(&shard, "shard", "", "run only slice i of n (0-based i, or auto for $JOB_COMPLETION_INDEX), e.g. 2/8")
	f.Var(&opts.MaxMemory, "max-memory", "heap budget of the whole fleet; instances are ended (exit 1) when it is outgrown; "+
		"auto = 512MiB or 1MiB per instance, whichever is more; 0 = no limit")
	f.IntVar(&opts.Workers, "workers", 0, "run the instances in this many worker processes (shards), each with its share of --max-memory; "+
		"0 = all in this process")
	f.IntVar(&opts.NoticeFD, workerNoticeFlag, 0, "internal: the worker side of --workers")
	_ = f.MarkHidden(workerNoticeFlag)
	addDeviceFlags(f, &opts.RunOptions)
	addReportFlags(f, &opts.Reporting)
	addReportSeriesFlag(f, &opts.Reporting)
	addThresholdFlag(f, &opts.Thresholds)
	addFleetLiveFlags(f, opts)
	f.StringVar(&opts.E2EProbe, "e2e-probe", "", "time the end-to-end latency of the instances' publishes on topics matching this MQTT filter "+
		"to their receipt by an instance of this process (payloads should be distinct), e.g. 'meters/#'")
	f.StringVar(&opts.E2ESubscriber, "e2e-subscriber", "", "with --e2e-probe, add one probe subscriber per process to its filter (QoS 1), "+
		"connecting to this mqtt[s]://HOST[:PORT] URL through the instances' route (--broker, --ssl-*, --link), e.g. mqtt://broker:1883")
	cmd.AddCommand(NewCmdFleetMerge(ios, nil))
	return cmd
}

// fleetRun runs the fleet and maps how its instances ended to an exit code.
func fleetRun(parent context.Context, opts *FleetOptions) error {
	script, err := devicejs.ScriptFile(opts.ScriptPath)
	if err != nil {
		return usageError(fmt.Errorf("cannot read script: %w", err))
	}
	if opts.Workers > 0 {
		return fleetSupervise(parent, opts)
	}
	dev, closeBroker, err := deviceConfig(&opts.RunOptions, broker.Config{MaxPendingWrites: fleetBrokerQueue})
	if err != nil {
		return err
	}
	defer closeBroker()
	dev.Stdout = nil
	rep, hook, err := startFleetReport(opts)
	if err != nil {
		return err
	}
	if hook != nil {
		dev.Trace = hook
	}
	var out io.Writer
	if !opts.Quiet {
		out = opts.IO.Out
	}
	var notices *os.File
	if opts.NoticeFD > 0 { // the child side of fleet.Supervise's pipe (fleet.WorkerNoticeFD)
		if notices, err = childproc.OpenFD(opts.NoticeFD, "worker-notices"); err != nil {
			return usageError(fmt.Errorf("--%s: %w", workerNoticeFlag, err))
		}
		defer notices.Close()
	}
	lo, hi := opts.Shard.Range(opts.N)
	fc := fleet.Config{
		N: opts.N, Shard: opts.Shard, Script: script, Device: dev,
		ClientID: opts.ClientID, Defines: opts.Defines, Ramp: opts.Ramp, Stdout: out,
		MaxMemory: opts.MaxMemory.bytes(hi - lo), EndReason: endReason, E2EFilter: opts.E2EProbe,
		E2ESubscriberURL: opts.E2ESubscriber,
	}
	if notices != nil {
		fc.Notices = notices
	}
	fl, err := fleet.New(fc)
	if err != nil {
		return usageError(err)
	}
	settings := fleetSettings(opts, script.Source)
	rep.start(fl, settings)
	if opts.Broker != "embedded" {
		warnFDs(opts.IO, hi-lo, fdLimit())
	}
	sumOut, err := newSummaryOut(opts) // fail before the run, not after it
	if err != nil {
		return err
	}
	sumOut.settings = settings

	ctx, release := boundRun(parent, opts.Timeout)
	defer release()
	start := time.Now()
	done := make(chan struct{})
	defer close(done)
	// An instance stuck in a long built-in call keeps Run from returning: 2 s after the stop,
	// write what is known (the stuck instances listed as ended) and exit.
	exitIfStuck(opts.IO, fl.Stopped(), done, func() ExitCode {
		cause := fl.StopCause()
		sum := fl.Partial(time.Since(start), endReason(cause))
		sumOut.write(sum)
		return exitCodeOf(fleetExit(sum, cause))
	})
	// A second signal exits at once, with what is known written first.
	defer onSecondSignal(func(ExitCode) {
		sumOut.write(fl.Partial(time.Since(start), endReason(context.Cause(ctx))))
	})()

	if opts.metricsAddr != "" {
		m, err := startFleetMetrics(opts.IO, opts.metricsAddr, fl, hi-lo, start, settings)
		if err != nil {
			return err
		}
		defer m.Close()
	}
	stopProgress := startFleetProgress(opts, fl, start)
	sum, err := fl.Run(ctx)
	stopProgress()
	if err != nil {
		return withExitCode(ExitScriptError, err)
	}
	sum.Settings = settings
	rep.fill(&sum)
	defer rep.finish(sum)
	if err := sumOut.write(sum); err != nil {
		return err
	}
	cause := fl.StopCause()
	if c := context.Cause(ctx); c != nil && cause == nil {
		cause = c
	}
	return quietWorker(opts, thresholdExit(opts.thresholds, sum, fleetExit(sum, cause)))
}

// summaryOut is where a fleet's summary goes: text to stderr (not for a worker of --workers,
// whose supervisor writes the merged one) and JSON to --summary-json. It is written once, by
// whichever comes first of the run's end, the exit of a stuck run and a second signal, and the
// JSON file whole: a temporary file renamed, never a truncated one.
type summaryOut struct {
	opts     *FleetOptions
	settings *fleet.Settings // the run's settings, added to a summary that has none
	mu       sync.Mutex
	done     bool
}

// newSummaryOut checks that --summary-json can be written (a usage error if not) without
// creating it yet.
func newSummaryOut(opts *FleetOptions) (*summaryOut, error) {
	if p := opts.SummaryJSON; p != "" {
		st, err := os.Stat(p)
		switch {
		case err == nil && st.IsDir():
			return nil, usageError(fmt.Errorf("--summary-json: %s is a directory", p))
		case err == nil && !st.Mode().IsRegular(): // /dev/stdout, a FIFO: written as it is
			f, err := os.OpenFile(p, os.O_WRONLY|syscall.O_NONBLOCK, 0)
			if err != nil {
				return nil, usageError(fmt.Errorf("--summary-json: %w", err))
			}
			f.Close()
		default:
			if p, err = resolved(p); err != nil {
				return nil, usageError(fmt.Errorf("--summary-json: %w", err))
			}
			f, err := os.CreateTemp(filepath.Dir(p), ".summary-*.json")
			if err != nil {
				return nil, usageError(fmt.Errorf("--summary-json: %w", err))
			}
			f.Close()
			os.Remove(f.Name())
		}
	}
	return &summaryOut{opts: opts}, nil
}

// resolved follows path's symlinks when it exists (a link is written through, not replaced).
func resolved(path string) (string, error) {
	if _, err := os.Lstat(path); err != nil {
		return path, nil
	}
	return filepath.EvalSymlinks(path)
}

// write writes sum unless a summary was written already. Safe from any goroutine.
func (o *summaryOut) write(sum fleet.Summary) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.done {
		return nil
	}
	o.done = true
	sum.Thresholds = fleet.EvaluateThresholds(o.opts.thresholds, sum)
	if sum.Settings == nil {
		sum.Settings = o.settings
	}
	if o.opts.NoticeFD == 0 {
		sum.WriteText(o.opts.IO.ErrOut)
	}
	if o.opts.SummaryJSON == "" {
		return nil
	}
	if err := writeFileWhole(o.opts.SummaryJSON, sum.WriteJSON); err != nil {
		return withExitCode(ExitScriptError, fmt.Errorf("--summary-json: %w", err))
	}
	return nil
}

// writeFileWhole writes path through a temporary file in its folder, renamed when complete,
// so that the file is either absent, as it was, or whole. A path that is not a regular file
// (/dev/stdout, a FIFO) is written directly; a symlink is written through.
func writeFileWhole(path string, write func(io.Writer) error) error {
	if st, err := os.Stat(path); err == nil && !st.Mode().IsRegular() {
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return err
		}
		if err := write(f); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	}
	path, err := resolved(path)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".devicejs-*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := write(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// secondSignal is what a second SIGINT or SIGTERM runs before the process exits with that
// signal's code (forceExit): a fleet writes its summary and ends its workers there.
var secondSignal atomic.Pointer[func(ExitCode)]

// onSecondSignal installs f as what a second signal runs, until the returned function is
// called.
func onSecondSignal(f func(ExitCode)) (remove func()) {
	secondSignal.Store(&f)
	return func() { secondSignal.CompareAndSwap(&f, nil) }
}

// forceExit ends the process on a second signal with code (130 for SIGINT, 143 for SIGTERM),
// after what onSecondSignal installed, given at most forceExitBound.
func forceExit(code ExitCode) {
	if f := secondSignal.Load(); f != nil {
		done := make(chan struct{})
		go func() { defer close(done); (*f)(code) }()
		select {
		case <-done:
		case <-time.After(forceExitBound):
		}
	}
	os.Exit(int(code))
}

// forceExitBound bounds what a second signal does before the process exits: writing a
// summary, killing and waiting for workers.
const forceExitBound = 5 * time.Second

// fdHeadroom is the number of descriptors kept for everything but the instances' sockets.
const fdHeadroom = 64

// warnFDs warns when n instances, one socket each, cannot fit the open-file limit: the extra
// connections would fail (EMFILE) and reconnect over and over. --broker embedded needs none.
func warnFDs(ios *IOStreams, n int, limit uint64) {
	if limit == 0 || uint64(n)+fdHeadroom <= limit {
		return
	}
	fmt.Fprintf(ios.ErrOut, "devicejs: warning: %d instances need %d sockets, but this process may open only %d files (ulimit -n); "+
		"raise the limit, use --shard, or --broker embedded\n", n, n, limit)
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// startProgress rewrites one status line on w every second until stop is called.
func startProgress(w io.Writer, fl *fleet.Fleet) (stop func()) {
	lo, hi := fl.Indices()
	done, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		last, lastAt := fl.Progress(), time.Now()
		for {
			select {
			case <-done:
				fmt.Fprint(w, "\r\033[K")
				return
			case now := <-t.C:
				p := fl.Progress()
				secs := now.Sub(lastAt).Seconds()
				fmt.Fprintf(w, "\r\033[Kstarted %d/%d  connected %d  reconnecting %d  errors %d  msg/s %.0f  pub/s %.0f",
					p.Started, hi-lo, p.Connected, p.Reconnecting, p.Errors,
					float64(p.Received-last.Received)/secs, float64(p.Published-last.Published)/secs)
				last, lastAt = p, now
			}
		}
	}()
	return func() { close(done); <-finished }
}
