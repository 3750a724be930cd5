package devicejs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

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
var ErrIsolatedTimeout = fmt.Errorf("devicejs: isolated run: --timeout elapsed: %w", context.DeadlineExceeded)

// ChildExitError is the error of an isolated run whose child did not end in a way a Result
// describes: killed by a signal (other than for the end of the caller's context), crashed, or
// exited with a status `devicejs run` does not give for a run (2 usage error, 130, 143, ...).
type ChildExitError struct {
	Code   int    // the exit status, -1 when killed by a signal
	Signal string // the signal that killed it, "" if it exited
	Stderr string // the start of what the child wrote to stderr
}

// Error describes the exit and the first line of the child's stderr.
func (e *ChildExitError) Error() string {
	how := "exited with status " + strconv.Itoa(e.Code)
	if e.Signal != "" {
		how = "was killed by " + e.Signal
	}
	msg := "devicejs: isolated run: the child " + how
	if first, _, _ := strings.Cut(strings.TrimSpace(e.Stderr), "\n"); first != "" {
		msg += ": " + first
	}
	return msg
}

// stderrKept bounds the child's stderr RunIsolated keeps to describe its end.
const stderrKept = 64 << 10

// RunIsolated runs script in a child process, `cfg.Binary run`, so that whatever the script
// does to its memory or its goroutine cannot reach the caller's process: a heap past
// cfg.MaxMemory, a goja built-in stuck for seconds, a fatal Go error all end the child only.
// The script is written to a temporary file (removed afterwards) named after script.Name, so
// error messages name the file as an in-process run does.
//
// The child's exit status gives the Result: 0 Finished (ForElapsed when cfg.For is set and
// the run lasted at least cfg.For of device time at cfg.TimeScale), 1 ScriptFailed with a
// *runtime.ScriptError rebuilt from the child's message (Err runtime.ErrMemoryBudget at the
// memory budget), 3 Canceled with ErrIsolatedTimeout. When ctx ends the child's process group
// is killed (SIGKILL) and the Result is Canceled with context.Cause(ctx). Any other end is an
// error, *ChildExitError. Result.Stats are not known across the process boundary (zero).
// RunIsolated returns only once the child has exited: it never leaks it.
func RunIsolated(ctx context.Context, script Script, cfg IsolatedConfig) (Result, error) {
	if cfg.Binary == "" {
		return Result{}, errors.New("devicejs: RunIsolated: IsolatedConfig.Binary is required")
	}
	if ctx.Err() != nil { // start no child for a run already over
		return Result{Ending: Canceled, Err: context.Cause(ctx)}, nil
	}
	bin, err := exec.LookPath(cfg.Binary)
	if err == nil {
		bin, err = filepath.Abs(bin)
	}
	if err != nil {
		return Result{}, fmt.Errorf("devicejs: RunIsolated: %w", err)
	}
	dir, err := os.MkdirTemp("", "devicejs-isolated-")
	if err != nil {
		return Result{}, fmt.Errorf("devicejs: RunIsolated: %w", err)
	}
	defer os.RemoveAll(dir)
	name := scriptFileName(script.Name)
	if err := os.WriteFile(filepath.Join(dir, name), []byte(script.Source), 0o600); err != nil {
		return Result{}, fmt.Errorf("devicejs: RunIsolated: %w", err)
	}
	args, err := isolatedArgs(cfg)
	if err != nil {
		return Result{}, err
	}
	return runChild(ctx, bin, dir, append(args, name), cfg)
}

// scriptFileName is the name the script file gets: the base of name, or "script.js".
func scriptFileName(name string) string {
	base := filepath.Base(name)
	if base == "." || base == ".." || base == string(filepath.Separator) || base == "" || strings.HasPrefix(base, "-") {
		return "script.js"
	}
	return base
}

// isolatedArgs are the `run` flags for cfg (file paths made absolute: the child runs in the
// script's temporary folder).
func isolatedArgs(cfg IsolatedConfig) ([]string, error) {
	args := []string{"run"}
	if cfg.Broker != "" {
		args = append(args, "--broker", cfg.Broker)
	}
	if cfg.TimeScale != 0 {
		args = append(args, "--time-scale", strconv.FormatFloat(cfg.TimeScale, 'g', -1, 64))
	}
	if cfg.For > 0 {
		args = append(args, "--for", cfg.For.String())
	}
	switch {
	case cfg.MaxMemory < 0:
		args = append(args, "--max-memory", "0")
	case cfg.MaxMemory > 0:
		args = append(args, "--max-memory", strconv.FormatInt(cfg.MaxMemory, 10))
	}
	if cfg.Timeout > 0 {
		args = append(args, "--timeout", cfg.Timeout.String())
	}
	for _, f := range []struct{ flag, path string }{{"--ssl-ca", cfg.CAFile}, {"--ssl-cert", cfg.CertFile}, {"--ssl-key", cfg.KeyFile}} {
		if f.path == "" {
			continue
		}
		abs, err := filepath.Abs(f.path)
		if err != nil {
			return nil, fmt.Errorf("devicejs: RunIsolated: %s: %w", f.flag, err)
		}
		args = append(args, f.flag, abs)
	}
	if cfg.Link != "" {
		args = append(args, "--link", cfg.Link)
	}
	if cfg.Trace != nil {
		args = append(args, "--trace-json", "/dev/fd/3")
	}
	return append(args, "--"), nil
}
