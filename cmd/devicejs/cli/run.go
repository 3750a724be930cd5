package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/devicejs/devicejs"
	"github.com/devicejs/devicejs/fleet"
	"github.com/devicejs/devicejs/internal/isolation"
	"github.com/devicejs/devicejs/mqttcore"
	"github.com/devicejs/devicejs/runtime"
)

// RunOptions are the inputs of `devicejs run`.
type RunOptions struct {
	IO         *IOStreams
	ScriptPath string
	For        time.Duration // device time; 0 = until the script finishes
	Timeout    time.Duration // wall time; 0 = none
	TimeScale  float64
	Broker     string // "", "embedded" or HOST:PORT
	Link       string // --link: the emulated network link (link.go); "" = none
	SSLCAFile  string
	SSLCert    string
	SSLKey     string
	Trace      bool        // --trace: MQTT actions to stderr
	TraceJSON  string      // --trace-json: MQTT actions as JSON lines to this file
	MaxMemory  byteSize    // --max-memory (run only): heap budget in bytes; 0 = none
	Reporting  ReportFlags // --report, --ui: the HTML report of the run (report_live.go)
	Defines    []string    // --define KEY=VALUE: per-device globals (runtime.ParseGlobal, fleet.GlobalsFor)
	ResultFD   int         // hidden --result-fd: the child side of RunIsolated (runresult.go); 0 = none
}

// Causes with which a run is stopped from outside the script.
var (
	errTimeout     = errors.New("--timeout elapsed")
	errInterrupted = errors.New("interrupted")
	errTerminated  = errors.New("terminated")
)

// NewCmdRun builds `devicejs run`. runF replaces the run in tests of flag parsing.
func NewCmdRun(ios *IOStreams, runF func(*RunOptions) error) *cobra.Command {
	opts := &RunOptions{IO: ios, MaxMemory: defaultMaxMemory}
	cmd := &cobra.Command{
		Use:   "run [flags] <script.js>",
		Short: "Run a device script",
		Long: `Run a device script as the device would: the script's top level first, then its
timers and MQTT events, until nothing is left that could fire, --for device time has
passed, --timeout wall time has passed, or Ctrl-C.

Device time can run faster than wall time (--time-scale), so a script with a
10-second interval can be exercised in a fraction of a second.

Exit codes: 0 finished or --for elapsed, 1 script error, 2 usage error,
3 --timeout elapsed, 130 interrupted (SIGINT), 143 terminated (SIGTERM).`,
		Example: `  # run sample 5 for one minute of device time against the embedded broker, 60x faster
  $ devicejs run --broker embedded --time-scale 60 --for 60s sample5.js

  # route every connection of the script to a local mosquitto, TLS with your own CA
  $ devicejs run --broker 127.0.0.1:8883 --ssl-ca ca.pem device.js

  # the device behind a 3G link, then behind 200 ms ± 50 ms each way with 1% loss (docs/link.md)
  $ devicejs run --broker embedded --link 3g device.js
  $ devicejs run --broker embedded --link 'latency=200ms,jitter=50ms,loss=1%' device.js

  # show the whole MQTT conversation, and keep it as JSON lines for a CI assertion
  $ devicejs run --broker embedded --for 30s --trace --trace-json trace.jsonl device.js`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageError(fmt.Errorf("run takes exactly one script file, got %d arguments", len(args)))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.ScriptPath = args[0]
			if err := validateDeviceFlags(opts); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return runRun(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	addDeviceFlags(f, opts)
	f.BoolVar(&opts.Trace, "trace", false, "write each MQTT event and packet-level action, with device time, to stderr")
	f.StringVar(&opts.TraceJSON, "trace-json", "", "write the trace as JSON lines to this file")
	addReportFlags(f, &opts.Reporting)
	f.Var(&opts.MaxMemory, "max-memory", "end the script with an error (exit 1) when its heap outgrows this size; 0 = no limit")
	f.IntVar(&opts.ResultFD, isolation.ResultFDFlag, 0, "internal: the child side of RunIsolated")
	_ = f.MarkHidden(isolation.ResultFDFlag)
	return cmd
}

// runRun executes one script through the embedding API and maps how it ended to an exit code.
func runRun(parent context.Context, opts *RunOptions) error {
	script, err := devicejs.ScriptFile(opts.ScriptPath)
	if err != nil {
		return usageError(fmt.Errorf("cannot read script: %w", err))
	}
	result, err := openResultLine(opts.ResultFD)
	if err != nil {
		return err
	}
	defer result.close()
	cfg, closeBroker, err := runDeviceConfig(opts)
	if err != nil {
		return err
	}
	defer closeBroker()
	// A run is instance 0 of a fleet of 1: the same --define values mean the same with fleet.
	if cfg.Globals, err = fleet.GlobalsFor(opts.Defines, "", nil, 0, 1); err != nil {
		return usageError(err)
	}
	clock := cfg.Clock
	rep, err := startRunReport(opts)
	if err != nil {
		return err
	}
	defer rep.finish() // after the tracer's Close below
	tr, err := newTracer(opts, clock.Now())
	if err != nil {
		return usageError(err)
	}
	defer tr.Close()
	cfg.Trace = tr.trace()

	ctx, release := boundRun(parent, opts.Timeout)
	defer release()
	done := make(chan struct{})
	defer close(done)
	exitIfStuck(opts.IO, ctx.Done(), done, func() ExitCode {
		res := devicejs.Result{Ending: devicejs.Canceled, Err: context.Cause(ctx)}
		code := exitCodeOf(runResult(opts.IO, res))
		result.write(code, res, nil)
		return code
	})
	if opts.For > 0 { // the same bound for --for, which the run ends cleanly (exit 0)
		forElapsed := make(chan struct{})
		defer clock.AfterFunc(opts.For, func() { close(forElapsed) })()
		exitIfStuck(opts.IO, forElapsed, done, func() ExitCode {
			result.write(ExitOK, devicejs.Result{Ending: devicejs.ForElapsed}, nil)
			return ExitOK
		})
	}
	cfg.MaxMemory = int64(opts.MaxMemory)
	defer exitAtMemoryBackstopThen(opts.IO, func(se *runtime.ScriptError) {
		result.write(ExitScriptError, devicejs.Result{Ending: devicejs.ScriptFailed, Err: se}, nil)
	})()

	d, err := devicejs.New(cfg)
	if err != nil {
		result.write(ExitScriptError, devicejs.Result{}, err)
		return withExitCode(ExitScriptError, err)
	}
	result.setStats(d.Stats)
	res, err := d.Run(ctx, script)
	if err != nil {
		result.write(ExitScriptError, res, err)
		return withExitCode(ExitScriptError, err)
	}
	err = runResult(opts.IO, res)
	result.write(exitCodeOf(err), res, nil)
	return err
}

// runResult turns the way a run ended into an error carrying the exit code.
func runResult(ios *IOStreams, res devicejs.Result) error {
	switch res.Ending {
	case devicejs.Finished, devicejs.ForElapsed:
		return nil
	case devicejs.ScriptFailed:
		fmt.Fprintln(ios.ErrOut, res.ScriptError().Error())
		if errors.Is(res.Err, runtime.ErrMemoryBudget) {
			fmt.Fprintln(ios.ErrOut, memoryBudgetHint)
		}
		return withExitCode(ExitScriptError, errors.New(""))
	}
	switch err := res.Err; {
	case errors.Is(err, errTimeout):
		return withExitCode(ExitTimeout, err)
	case errors.Is(err, errInterrupted):
		return withExitCode(ExitInterrupted, err)
	case errors.Is(err, errTerminated):
		return withExitCode(ExitTerminated, err)
	default:
		return withExitCode(ExitScriptError, err)
	}
}

// boundRun is the context of a run: it ends with errTimeout after timeout (wall time; 0 = none)
// and on the first SIGINT or SIGTERM (cancelOnSignals). release undoes both and cancels ctx.
func boundRun(parent context.Context, timeout time.Duration) (ctx context.Context, release func()) {
	ctx, cancel := context.WithCancelCause(parent)
	var t *time.Timer
	if timeout > 0 {
		t = time.AfterFunc(timeout, func() { cancel(errTimeout) })
	}
	stopSignals := cancelOnSignals(cancel)
	return ctx, func() {
		stopSignals()
		if t != nil {
			t.Stop()
		}
		cancel(nil)
	}
}

// cancelOnSignals stops the run on SIGINT or SIGTERM; a second signal exits at once with its
// own code (forceExit).
func cancelOnSignals(cancel context.CancelCauseFunc) (stop func()) {
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case sig := <-ch:
			if sig == syscall.SIGTERM {
				cancel(errTerminated)
			} else {
				cancel(errInterrupted)
			}
		case <-done:
			return
		}
		select {
		case sig := <-ch:
			if sig == syscall.SIGTERM {
				forceExit(ExitTerminated)
			}
			forceExit(ExitInterrupted)
		case <-done:
		}
	}()
	return func() {
		signal.Stop(ch)
		close(done)
	}
}

// readSSLOverrides loads the --ssl-* files.
func readSSLOverrides(opts *RunOptions) (mqttcore.TLSSettings, error) {
	var s mqttcore.TLSSettings
	for _, f := range []struct {
		path string
		dst  *string
		flag string
	}{{opts.SSLCAFile, &s.CA, "--ssl-ca"}, {opts.SSLCert, &s.Cert, "--ssl-cert"}, {opts.SSLKey, &s.Key, "--ssl-key"}} {
		if f.path == "" {
			continue
		}
		b, err := os.ReadFile(f.path)
		if err != nil {
			return s, fmt.Errorf("%s: %w", f.flag, err)
		}
		*f.dst = string(b)
	}
	return s, nil
}
