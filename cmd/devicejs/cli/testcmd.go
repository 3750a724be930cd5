package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"time"

	"github.com/spf13/cobra"

	"github.com/devicejs/devicejs"
	"github.com/devicejs/devicejs/devtest"
	"github.com/devicejs/devicejs/runtime"
)

// TestOptions are the inputs of `devicejs test`.
type TestOptions struct {
	IO          *IOStreams
	Paths       []string
	Broker      string // HOST:PORT of an external broker; "" = embedded
	TLSBroker   string
	SSLCAFile   string
	SSLCert     string
	SSLKey      string
	PeerUser    string
	PeerPass    string
	JUnit       string
	Run         string
	Timeout     time.Duration
	Parallel    int
	TraceOnFail bool
	Verbose     bool // -v: every test's print output and a line per device
	Seed        int64
	Root        string   // --root: the folder test files may require() helpers from
	Report      string   // --report: HTML report of every test's device traces (report_testcmd.go)
	MaxMemory   byteSize // --max-memory: heap budget of the test files and their devices; 0 = none
}

// NewCmdTest builds `devicejs test`. runF replaces the run in tests of flag parsing.
func NewCmdTest(ios *IOStreams, runF func(*TestOptions) error) *cobra.Command {
	opts := &TestOptions{IO: ios, MaxMemory: defaultMaxMemory}
	cmd := &cobra.Command{
		Use:   "test [flags] [files or dirs...]",
		Short: "Run device-script tests (*.test.js) against a scripted world",
		Long: `Run device-script tests: each *.test.js file registers tests with test(name, fn); each
test starts device scripts (device.start), acts as peers (world.publish, world.subscribe),
controls the broker (broker.stop/restart/refuse/users/deny) and the network link (link.set,
outage, blackhole, cut), advances device time (world.after, world.until) and asserts what the
devices did (expect(device).toHavePublished, toHavePrinted, ...). See docs/testing.md.

Device time is virtual: it jumps to the next timer when every device is idle and no network
I/O is in flight, so an hour of device time usually runs in well under a second of wall time.
Tests run on an in-process broker unless --broker HOST:PORT names a real one; broker controls
other than stop/restart then report the test skipped ("needs the embedded broker").

Each test's network link is seeded from --seed, the test file's name and the test's name, so
a test sees the same jitter and loss under any --run, -j or order of tests; a failed test
prints its seed and the command that replays it. Test files share helpers with
require('./helpers.js'): relative paths inside --root (default: the current directory).

Directories are searched recursively for *.test.js; no argument means the current directory.
--timeout bounds each test in wall time (a test past it fails). --max-memory bounds the heap
of the process running the test files and their devices (the file running when it is
outgrown fails with the budget error; the rest of that file does not run).

Exit codes: 0 every selected test passed (or was skipped), 1 a test failed or a file could not
run, 2 usage error.`,
		Example: `  $ devicejs test
  $ devicejs test tests/sensor.test.js --run 'restart'
  $ devicejs test -j 4 --junit report.xml --trace-on-fail tests/
  $ devicejs test -v --seed 7 --run '^lossy link$' tests/sensor.test.js
  $ devicejs test --broker 127.0.0.1:1883 tests/`,
		RunE: func(c *cobra.Command, args []string) error {
			opts.Paths = args
			if runF != nil {
				return runF(opts)
			}
			return testRun(c.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Broker, "broker", "", "run against this broker (HOST:PORT) instead of the embedded one")
	f.StringVar(&opts.TLSBroker, "tls-broker", "", "with --broker: where connections to port 8883 (mqtts://) go (HOST:PORT)")
	f.StringVar(&opts.SSLCAFile, "ssl-ca", "", "with --broker: PEM file of the CA devices trust instead of the script's ssl.ca")
	f.StringVar(&opts.SSLCert, "ssl-cert", "", "with --broker: PEM client certificate instead of the script's ssl.cert")
	f.StringVar(&opts.SSLKey, "ssl-key", "", "with --broker: PEM client key instead of the script's ssl.key")
	f.StringVar(&opts.PeerUser, "peer-user", "", "with --broker: user name of the test's own peer clients")
	f.StringVar(&opts.PeerPass, "peer-password", "", "with --broker: password of the test's own peer clients")
	f.StringVar(&opts.JUnit, "junit", "", "write a JUnit XML report to this file")
	f.StringVar(&opts.Run, "run", "", "run only the tests whose name (or 'file.test.js: name') matches this regular expression")
	f.DurationVar(&opts.Timeout, "timeout", 60*time.Second, "wall-time bound of each test")
	f.IntVarP(&opts.Parallel, "parallel", "j", 1, "number of test files run at once")
	f.BoolVar(&opts.TraceOnFail, "trace-on-fail", false, "print every device's trace and output for failed tests")
	f.BoolVarP(&opts.Verbose, "verbose", "v", false, "print what each test printed and a line per device, for passing tests too")
	f.Int64Var(&opts.Seed, "seed", 1, "seed of the link emulation's jitter and loss (each test's own seed derives from it, the file's name and the test's name)")
	f.StringVar(&opts.Root, "root", "", "folder test files may require() helpers from (default: the current directory)")
	f.StringVar(&opts.Report, "report", "", "write an HTML report of every test's device traces to this file (see 'devicejs report')")
	f.Var(&opts.MaxMemory, "max-memory", "end the test file and its devices with an error (exit 1) when the heap outgrows this size; 0 = no limit")
	return cmd
}

// testRun runs the tests and maps the outcome to an exit code.
func testRun(parent context.Context, opts *TestOptions) error {
	if opts.Parallel < 1 {
		return usageError(errors.New("-j/--parallel must be at least 1"))
	}
	if opts.Timeout <= 0 {
		return usageError(errors.New("--timeout must be positive"))
	}
	if opts.Broker == "" && (opts.TLSBroker != "" || opts.SSLCAFile != "" || opts.SSLCert != "" || opts.SSLKey != "") {
		return usageError(errors.New("--tls-broker and --ssl-* need --broker"))
	}
	ro := devtest.Options{Broker: opts.Broker, TLSBroker: opts.TLSBroker, PeerUser: opts.PeerUser,
		PeerPass: opts.PeerPass, Timeout: opts.Timeout, Parallel: opts.Parallel, Seed: opts.Seed,
		MaxMemory: int64(opts.MaxMemory), Root: opts.Root}
	if opts.Root != "" {
		if st, err := os.Stat(opts.Root); err != nil {
			return usageError(fmt.Errorf("--root: %w", err))
		} else if !st.IsDir() {
			return usageError(fmt.Errorf("--root: %s is not a directory", opts.Root))
		}
	}
	// --timeout ends a test stuck in a long built-in call too: the process exits (1, a failed
	// test) when it has not returned devtest.StuckGrace after its interrupt.
	// Each abrupt exit (this one, a signal during a stuck test, the memory backstop) first
	// writes --junit and --report of what is known then (testoutputs.go).
	live := &devtest.Live{}
	if opts.JUnit != "" || opts.Report != "" {
		ro.Live = live // recorded only for the files an abrupt exit would write
	}
	outs := &testOutputs{opts: opts, live: live, replay: replayCommand(opts)}
	ro.Stuck = func(err error) {
		fmt.Fprintf(opts.IO.ErrOut, "devicejs: %v; exiting\n", err)
		outs.abrupt(err.Error())
		os.Exit(int(ExitScriptError))
	}
	if opts.Broker != "" {
		if _, err := devicejs.AddressDialer(opts.Broker); err != nil {
			return usageError(err)
		}
	}
	for _, p := range []struct {
		file string
		dst  *string
	}{{opts.SSLCAFile, &ro.TLS.CA}, {opts.SSLCert, &ro.TLS.Cert}, {opts.SSLKey, &ro.TLS.Key}} {
		if p.file == "" {
			continue
		}
		b, err := os.ReadFile(p.file)
		if err != nil {
			return usageError(err)
		}
		*p.dst = string(b)
	}
	if opts.Run != "" {
		re, err := regexp.Compile(opts.Run)
		if err != nil {
			return usageError(fmt.Errorf("--run: %w", err))
		}
		ro.Run = re
	}
	files, err := devtest.Collect(opts.Paths)
	if err != nil {
		return usageError(err)
	}
	if len(files) == 0 {
		return usageError(errors.New("no *.test.js files found"))
	}
	ctx, release := boundRun(parent, 0) // --timeout is per test (the runner's)
	defer release()
	done := make(chan struct{})
	defer close(done)
	// A signal ends the run like `run`'s: a file stuck in a long built-in call exits the
	// process stopGrace later.
	exitIfStuckThen(opts.IO, ctx.Done(), done, func() ExitCode {
		if errors.Is(context.Cause(ctx), errTerminated) {
			return ExitTerminated
		}
		return ExitInterrupted
	}, func(code ExitCode) {
		how := "interrupted (SIGINT)"
		if code == ExitTerminated {
			how = "terminated (SIGTERM)"
		}
		outs.abrupt(fmt.Sprintf("the run was %s and the test did not stop within %v (stuck in a long built-in call); devicejs exited %d",
			how, stopGrace, code))
	})
	defer exitAtMemoryBackstopThen(opts.IO, func(se *runtime.ScriptError) { outs.abrupt(se.Error()) })()
	start := time.Now()
	wo := devtest.WriteOptions{TraceOnFail: opts.TraceOnFail, Verbose: opts.Verbose, Replay: outs.replay}
	results := devtest.RunFiles(ctx, files, ro, func(r devtest.FileResult) {
		devtest.Write(opts.IO.Out, r, wo)
	})
	devtest.WriteSummary(opts.IO.Out, results, time.Since(start))
	if err := outs.write(results); err != nil {
		return withExitCode(ExitScriptError, err)
	}
	switch cause := context.Cause(ctx); {
	case errors.Is(cause, errInterrupted):
		return withExitCode(ExitInterrupted, cause)
	case errors.Is(cause, errTerminated):
		return withExitCode(ExitTerminated, cause)
	}
	t := devtest.Count(results)
	if t.Failed > 0 || t.FileErrors > 0 {
		return withExitCode(ExitScriptError, errors.New(""))
	}
	return nil
}

// replayCommand returns the command that replays a failed test: the flags of opts that change
// what a test sees (--broker, --tls-broker, --root), then --seed, --run and the file. Secrets
// (--peer-password, keys) are never printed.
func replayCommand(opts *TestOptions) func(devtest.TestResult) string {
	var extra []string
	for _, f := range []struct{ name, value string }{
		{"--broker", opts.Broker}, {"--tls-broker", opts.TLSBroker}, {"--root", opts.Root},
	} {
		if f.value != "" {
			extra = append(extra, f.name, devtest.ShellQuote(f.value))
		}
	}
	return func(r devtest.TestResult) string { return devtest.ReplayCommand(r, extra...) }
}
