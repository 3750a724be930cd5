package devicejs

import (
	"context"
	"io"
	"time"

	"github.com/devicejs/devicejs/internal/isolation"
	"github.com/devicejs/devicejs/mqttcore"
)

// IsolatedConfig configures RunIsolated: the settings of Config that can cross a process
// boundary, as flags of `devicejs run`.
type IsolatedConfig struct {
	// Binary is the devicejs executable that runs the device (`Binary run ...`); required.
	Binary string
	// Broker is "embedded" (an in-process broker of the child) or "HOST:PORT" (--broker); ""
	// connects where the script says.
	Broker string
	// TimeScale is --time-scale; 0 means 1.
	TimeScale float64
	// For is --for: stop cleanly after this much device time (Ending ForElapsed); 0 means none.
	For time.Duration
	// MaxMemory is --max-memory, the child's heap budget in bytes: 0 keeps the default of
	// `devicejs run` (512 MiB), a negative value means no budget.
	MaxMemory int64
	// Timeout is --timeout: the child stops after this much wall time (Ending Canceled, Err
	// ErrIsolatedTimeout); 0 means none.
	Timeout time.Duration
	// CAFile, CertFile and KeyFile are PEM files (--ssl-ca, --ssl-cert, --ssl-key) used instead
	// of the script's mqtt.set('ssl.*'); "" keeps the script's.
	CAFile, CertFile, KeyFile string
	// Link is --link, the emulated network link (docs/link.md); "" means none.
	Link string
	// Stdout receives the script's print() output; nil discards it.
	Stdout io.Writer
	// Stderr receives the child's diagnostics (its error message included); nil discards them.
	Stderr io.Writer
	// Trace, if non-nil, receives the child's trace events (--trace-json through a pipe),
	// decoded back into mqttcore.TraceEvent, one at a time on one goroutine; every event has
	// been delivered when RunIsolated returns.
	Trace func(mqttcore.TraceEvent)
}

// ErrIsolatedTimeout is the Err (Ending Canceled) of an isolated run stopped by
// IsolatedConfig.Timeout (the child's exit status 3). It wraps context.DeadlineExceeded.
var ErrIsolatedTimeout = isolation.ErrTimeout

// ChildExitError is the error of an isolated run whose child did not end in a way a Result
// describes: killed by a signal (other than for the end of the caller's context), crashed,
// exited 1 without its result line, or exited with a status `devicejs run` does not give for
// a run (2 usage error, 130, 143, ...). Its fields: Code, the exit status (-1 when killed by a
// signal); Signal, the signal that killed it ("" if it exited); Stderr, the start of what the
// child wrote to stderr.
type ChildExitError = isolation.ChildExitError

// RunIsolated runs script in a child process, `cfg.Binary run`, so that whatever the script
// does to its memory or its goroutine cannot reach the caller's process: a heap past
// cfg.MaxMemory, a goja built-in stuck for seconds, a fatal Go error all end the child only.
// The script is written to a temporary file (removed afterwards) named after script.Name, so
// error messages name the file as an in-process run does.
//
// The child's exit status gives the Ending: 0 Finished or ForElapsed, 1 ScriptFailed with a
// *runtime.ScriptError (Err runtime.ErrMemoryBudget at the memory budget), 3 Canceled with
// ErrIsolatedTimeout. The child reports the script error, Finished or ForElapsed, and the
// run's Stats in a result line on a pipe (docs/embedding.md, "Process isolation"); its stderr
// goes to cfg.Stderr only. When ctx ends the child's process group is killed (SIGKILL) and
// the Result is Canceled with context.Cause(ctx) (Stats zero). Any other end (a signal, a
// crash, exit 1 without the result line, another status) is an error, *ChildExitError.
// RunIsolated returns only once the child has exited: it never leaks it. The work is
// internal/isolation's; this is its adapter.
func RunIsolated(ctx context.Context, script Script, cfg IsolatedConfig) (Result, error) {
	r, err := isolation.Run(ctx, script.Name, script.Source, isolation.Config(cfg))
	return Result{Ending: isolatedEnding[r.Ending], Err: r.Err, Stats: Stats(r.Stats)}, err
}

// isolatedEnding maps the endings of package isolation to this package's.
var isolatedEnding = map[isolation.Ending]Ending{
	isolation.NotStarted: NotStarted, isolation.Finished: Finished, isolation.ForElapsed: ForElapsed,
	isolation.Canceled: Canceled, isolation.ScriptFailed: ScriptFailed,
}
