// Package devtest runs device-script tests (*.test.js): each test drives a world of devices
// (the devicejs root package, in process), a broker (embedded mochi by default, or an external
// one), peers and the network link, on virtual device time, and asserts what the devices did.
// It backs `devicejs test` and can be embedded by Go hosts. See docs/testing.md.
//
// Why one package of about 5k lines (over the 2.5k the codebase aims for): a test's world is
// one object whose parts share its private state and its one rule of time: the virtual clock
// (clock.go), the quiescence detector that decides when device time may jump
// (quiescence.go), the embedded broker and its login (embedded.go), the devices (device.go),
// the peers (peer.go), the link (link.go) and the JS API over them (api.go, control.go). The
// assertions (expect.go, equal.go) read goja values with the test runtime's own rules. Split
// apart, each part would have to export the world's internals to the others; the files are
// the boundary instead: one job each, named by it.
package devtest

import (
	"context"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/dop251/goja"

	"github.com/devicejs/devicejs"
	"github.com/devicejs/devicejs/internal/srcfile"
	"github.com/devicejs/devicejs/internal/syncbuf"
	"github.com/devicejs/devicejs/runtime"
)

// BrokerControl lets tests stop and restart an external broker (for example a mosquitto the
// Go test suite started); without it broker.stop() and broker.restart() need the embedded
// broker.
type BrokerControl interface {
	Stop()    // stop listening, disconnecting every client
	Restart() // listen again on the same address
}

// Options configure a run. The zero value runs on the embedded broker, every test, one file at
// a time, with a 60 s wall-time bound per test.
type Options struct {
	// Broker, "HOST:PORT", runs the tests against an external broker instead of the embedded
	// one: every device connection goes there.
	Broker string
	// TLSBroker, "HOST:PORT", receives the device connections to port 8883 (mqtts://) when
	// Broker is set.
	TLSBroker string
	// TLS overrides the devices' ssl.* settings (PEM) on an external broker.
	TLS devicejs.TLS
	// PeerUser and PeerPass are the login of the world's own peer clients on an external broker.
	PeerUser, PeerPass string
	// Control, with Broker, makes broker.stop() and broker.restart() work on the external broker.
	// The broker is shared by every test, so files then run one at a time (Parallel is
	// ignored), and a broker a test left stopped is restarted after it.
	Control BrokerControl

	// Run selects the tests whose "file: name" or name matches; nil runs all.
	Run *regexp.Regexp
	// Timeout bounds each test in wall time; 0 means 60 s. A test past it fails.
	Timeout time.Duration
	// Parallel is how many files run at once; 0 means 1.
	Parallel int
	// Seed seeds the link emulation's randomness (jitter, loss). Each test's world is seeded
	// with TestSeed(Seed, file, name): a test applies the same delays to the same writes
	// whatever runs before it, under any Run selection and any Parallel.
	Seed int64
	// Root is the folder that test files may require() helpers from (docs/testing.md,
	// "Helpers"): a required path must resolve, symbolic links followed, inside it. "" means
	// the current working directory (with FS: the whole of FS).
	Root string
	// FS, when set, is where test files and the scripts they device.start() are read from
	// (slash-separated fs.FS paths, e.g. files embedded in a binary); nil reads the OS
	// filesystem. Test files and scripts must be regular files of at most
	// runtime.MaxSourceBytes (internal/srcfile), from FS as from the OS filesystem.
	FS fs.FS
	// MaxMemory is the heap budget in bytes of the process running the tests; 0 means none.
	// The test file's runtime and every device it starts get the memory guards and the heap
	// watchdog against it (runtime.Options.MaxMemory, devicejs.Config.MaxMemory): when the
	// heap outgrows it, the devices end with the budget error and the test file's run ends
	// with it (the rest of the file does not run). The heap is the process's, so the budget
	// covers every file run at once (Parallel) and the host's own memory for the world.
	MaxMemory int64
	// Stuck, when set, is called (on a goroutine of its own) when a test has not returned
	// StuckGrace after the interrupt that follows its timeout: the test file's runtime is
	// inside one long built-in call (Go code no interrupt reaches). The CLI prints err and
	// exits; nil lets the run wait for the call to end.
	Stuck func(err error)
	// Live, when set, records the run as it goes (Live.Snapshot): what the CLI reports when
	// the process must end before the run returns.
	Live *Live
}

// StuckGrace is how long a test may take to return after the interrupt that follows its
// timeout before Options.Stuck is called: the CLI's bound for a run stuck in a built-in after
// --timeout or a signal.
const StuckGrace = 2 * time.Second

// Status is the outcome of one test.
type Status string

// The outcomes of a test.
const (
	Passed  Status = "pass"
	Failed  Status = "fail"
	Skipped Status = "skip"
)

// DeviceTrace is what one device of a test printed and did, for reports (--trace-on-fail, the
// HTML report).
type DeviceTrace struct {
	Script   string
	ClientID string // the client id of its last session ("" if it never connected)
	Ending   string // how its run ended (devicejs.Ending), "running" if it was still running
	Lines    []Line
	Trace    []TraceEntry
}

// TestResult is the outcome of one test.
type TestResult struct {
	File     string
	Name     string
	Status   Status
	Wall     time.Duration // wall time the test took
	DeviceMs int64         // device time the test covered, in milliseconds
	Message  string        // failure message (expectation, what happened, last trace lines) or skip reason
	Output   string        // what the test file printed during the test
	Devices  []DeviceTrace
	Seed     int64 // the run's seed (Options.Seed): with File and Name it replays the test
	TestSeed int64 // the seed of the test's world, TestSeed(Seed, File, Name)
}

// FileResult is the outcome of one test file.
type FileResult struct {
	File  string
	Err   error // the file could not be read or failed outside any test (e.g. a syntax error)
	Tests []TestResult
	Wall  time.Duration
}

// Failed reports whether the file or one of its tests failed.
func (f FileResult) Failed() bool {
	if f.Err != nil {
		return true
	}
	for _, t := range f.Tests {
		if t.Status == Failed {
			return true
		}
	}
	return false
}

// Collect expands paths (files, or directories searched recursively for *.test.js) into a
// sorted list of test files.
func Collect(paths []string) ([]string, error) {
	if len(paths) == 0 {
		paths = []string{"."}
	}
	var out []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			out = append(out, p)
			continue
		}
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && strings.HasSuffix(d.Name(), ".test.js") {
				out = append(out, path)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	sort.Strings(out)
	return out, nil
}

// RunFiles runs the test files, Options.Parallel at a time, and returns their results in the
// order of files. onFile, if non-nil, is called as each file finishes (from any goroutine, one
// call at a time).
func RunFiles(ctx context.Context, files []string, opts Options, onFile func(FileResult)) []FileResult {
	n := opts.Parallel
	if n < 1 || opts.Control != nil {
		n = 1
	}
	results := make([]FileResult, len(files))
	var slots []*liveFile
	if opts.Live != nil {
		slots = opts.Live.init(files)
	}
	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	var mu sync.Mutex
	for i, f := range files {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			var lf *liveFile
			if slots != nil {
				lf = slots[i]
			}
			r := runFile(ctx, f, opts, lf)
			results[i] = r
			if onFile != nil {
				mu.Lock()
				onFile(r)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return results
}

// RunFile runs one test file: its top level registers tests with test(name, fn), then each
// selected test runs in a fresh world, in order.
func RunFile(ctx context.Context, path string, opts Options) FileResult {
	var lf *liveFile
	if opts.Live != nil {
		lf = opts.Live.add(path)
	}
	return runFile(ctx, path, opts, lf)
}

// runFile is RunFile that publishes to its slot lf of Options.Live (nil: none).
func runFile(ctx context.Context, path string, opts Options, lf *liveFile) FileResult {
	opts.Live.begin(lf)
	res := fileResult(ctx, path, opts, lf)
	opts.Live.finish(lf, res)
	return res
}

// fileResult runs the file and returns its result.
func fileResult(ctx context.Context, path string, opts Options, lf *liveFile) FileResult {
	start := time.Now()
	res := FileResult{File: path}
	src, err := opts.readSource(path, int64(srcfile.MaxBytes-len(runAllCall)))
	if err != nil {
		res.Err = err
		return res
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 60 * time.Second
	}
	out := &syncbuf.Buffer{}
	loop := runtime.New(runtime.Options{Stdout: out, MaxMemory: opts.MaxMemory})
	f := &fileRun{ctx: ctx, path: path, dir: opts.dir(path), opts: opts, loop: loop, out: out,
		lines: strings.Count(string(src), "\n") + 1, live: lf}
	// The registered tests run from a call appended after the file's own code, on the same
	// loop, so they share the file's globals.
	err = loop.Run(ctx, path, string(src)+runAllCall, f.setup, f.setupAsync)
	res.Tests = f.results
	if err != nil {
		res.Err = err
	}
	res.Wall = time.Since(start)
	return res
}

// readSource reads a test file or script from Options.FS, or from the OS filesystem: a
// regular file of at most limit bytes (internal/srcfile).
func (o Options) readSource(name string, limit int64) ([]byte, error) {
	if o.FS != nil {
		return srcfile.ReadFS(o.FS, name, limit)
	}
	return srcfile.ReadLimit(name, limit)
}

// dir is the folder of a test file, against which device.start() paths are resolved.
func (o Options) dir(name string) string {
	if o.FS != nil {
		return path.Dir(name)
	}
	return filepath.Dir(name)
}

// publish copies test idx to Options.Live (running: it starts now).
func (f *fileRun) publish(idx int, running bool) {
	if f.live != nil {
		f.opts.Live.publish(f.live, idx, f.results[idx], running)
	}
}

// resolve is the path of a script device.start(rel) names in a test file of folder dir.
func (o Options) resolve(dir, rel string) string {
	if o.FS != nil {
		return path.Join(dir, rel) // fs.FS paths are clean and slash-separated
	}
	if filepath.IsAbs(rel) {
		return rel
	}
	return filepath.Join(dir, rel)
}

// runAllName is the hidden global that runs the registered tests; runAllCall, appended to the
// test file's source, calls it.
const (
	runAllName = "__devtest_runAll"
	runAllCall = "\n;" + runAllName + "();\n"
)

// registered is one test(name, fn) of a file.
type registered struct {
	name string
	fn   goja.Callable // the test function
	skip string        // test.skip reason
}

// fileRun is one test file being run. Loop only, except where noted.
type fileRun struct {
	ctx     context.Context
	path    string
	lines   int // lines of the file's own source (the runner's call follows)
	dir     string
	opts    Options
	loop    *runtime.Loop
	out     *syncbuf.Buffer
	tests   []registered
	results []TestResult
	world   *World // the current test's world
	stopped bool   // the file's run was interrupted (timeout watchdog, memory budget): run no more tests
	devices []*deviceJS
	live    *liveFile  // its slot of Options.Live (nil: none); publish writes it
	cur     *running   // the test running now (testexec.go)
	entry   int        // index in results of the test whose JS runs now; -1: the top level
	async   asyncState // rejections, timers and the queue of tests (testexec.go)
	// jsonParse is the VM's JSON.parse as it was before the file ran (payload matchers).
	jsonParse goja.Callable
}

// selected reports whether Options.Run selects the test.
func (f *fileRun) selected(name string) bool {
	if f.opts.Run == nil {
		return true
	}
	return f.opts.Run.MatchString(name) || f.opts.Run.MatchString(filepath.Base(f.path)+": "+name)
}

// skipError, thrown by a broker control, reports the test skipped with its reason.
type skipError struct{ reason string }

func (e *skipError) Error() string { return e.reason }
