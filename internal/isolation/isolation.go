// Package isolation runs one device script in a child process, `devicejs run`, so that what
// the script does to its memory or its goroutine cannot reach the caller's process. It is the
// engine behind the root package's RunIsolated (which converts its IsolatedConfig to Config
// and the Result back); the root cannot hold it because the child is the CLI, which imports
// the root.
//
// The child reports on two channels: its exit status (internal/exitcode's table) and one
// JSON result line (Report) on an extra pipe named by the hidden `run --result-fd` flag,
// carrying the script error and the Stats; its stderr is passed through for the user and
// only quoted in a ChildExitError. The child-process set-up (own process group, Pdeathsig,
// the pipes, the kill when the caller's context ends) is internal/childproc's, shared with
// fleet.Supervise.
//
// Entry points: Run (parent side), NewReport and WriteReport (the child side, used by the
// CLI), ReadReport. Run starts two goroutines per call at most (the result line and the
// trace readers) and returns only after the child has been reaped and both have returned;
// Config.Trace is called from the trace reader alone, one event at a time.
package isolation

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/devicejs/devicejs/internal/childproc"
	"github.com/devicejs/devicejs/internal/exitcode"
	"github.com/devicejs/devicejs/mqttcore"
	"github.com/devicejs/devicejs/trace"
)

// Config is the root package's IsolatedConfig, field for field (the root converts one into
// the other; the documentation of each field is there).
type Config struct {
	Binary                    string
	Broker                    string
	TimeScale                 float64
	For                       time.Duration
	MaxMemory                 int64
	Timeout                   time.Duration
	CAFile, CertFile, KeyFile string
	Link                      string
	Stdout                    io.Writer
	Stderr                    io.Writer
	Trace                     func(mqttcore.TraceEvent)
}

// Ending mirrors the root package's Ending (the root maps one to the other by name).
type Ending int

// The endings of an isolated run, as devicejs.Ending.
const (
	NotStarted Ending = iota
	Finished
	ForElapsed
	Canceled
	ScriptFailed
)

// Stats is the root package's Stats, field for field (the root converts one into the other).
type Stats struct {
	Published        uint64 `json:"published"`
	Received         uint64 `json:"received"`
	DiscardedForSize uint64 `json:"discarded_for_size"`
	Reconnects       uint64 `json:"reconnects"`
	DroppedForQueue  uint64 `json:"dropped_for_queue"`
}

// Result is how an isolated run ended: the root's Result in this package's types.
type Result struct {
	Ending Ending
	Err    error
	Stats  Stats
}

// ErrTimeout is the Err (Ending Canceled) of an isolated run stopped by Config.Timeout (the
// child's exit status 3). It wraps context.DeadlineExceeded. The root exports it as
// ErrIsolatedTimeout.
var ErrTimeout = fmt.Errorf("devicejs: isolated run: --timeout elapsed: %w", context.DeadlineExceeded)

// ChildExitError is the error of an isolated run whose child did not end in a way a Result
// describes: killed by a signal (other than for the end of the caller's context), crashed,
// exited 1 without a result line, or exited with a status `devicejs run` does not give for a
// run (2 usage error, 130, 143, ...). The root exports it as ChildExitError.
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

// ResultFDFlag is the hidden flag of `devicejs run` that names the descriptor on which the
// child writes its result line.
const ResultFDFlag = "result-fd"

// stderrKept bounds the child's stderr Run keeps to describe its end.
const stderrKept = 64 << 10

// childWaitDelay bounds how long Run waits for the child's output once it was killed or has
// exited (a grandchild holding a pipe open cannot keep it waiting).
const childWaitDelay = 2 * time.Second

// Run runs the script source, named name, in a child `cfg.Binary run` (see the root's
// RunIsolated for the contract). The script is written to a temporary folder (removed
// afterwards) under the base of name, and the child runs there.
func Run(ctx context.Context, name, source string, cfg Config) (Result, error) {
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
	file := scriptFileName(name)
	if err := os.WriteFile(filepath.Join(dir, file), []byte(source), 0o600); err != nil {
		return Result{}, fmt.Errorf("devicejs: RunIsolated: %w", err)
	}
	args, err := runArgs(cfg)
	if err != nil {
		return Result{}, err
	}
	return runChild(ctx, bin, dir, append(args, file), cfg)
}

// scriptFileName is the name the script file gets: the base of name, or "script.js".
func scriptFileName(name string) string {
	base := filepath.Base(name)
	if base == "." || base == ".." || base == string(filepath.Separator) || base == "" || strings.HasPrefix(base, "-") {
		return "script.js"
	}
	return base
}

// The child's extra descriptors: the result line always, the trace when Config.Trace is set.
const (
	resultFD = childproc.FirstExtraFD
	traceFD  = childproc.FirstExtraFD + 1
)

// runArgs are the `run` flags for cfg (file paths made absolute: the child runs in the
// script's temporary folder).
func runArgs(cfg Config) ([]string, error) {
	args := []string{"run", "--" + ResultFDFlag, strconv.Itoa(resultFD)}
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
		args = append(args, "--trace-json", "/dev/fd/"+strconv.Itoa(traceFD))
	}
	return append(args, "--"), nil
}

// runChild runs bin with args in dir and maps its end to a Result (childResult).
func runChild(ctx context.Context, bin, dir string, args []string, cfg Config) (Result, error) {
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Stdout = cfg.Stdout
	if cmd.Stdout == nil {
		cmd.Stdout = io.Discard
	}
	kept := &headBuffer{max: stderrKept}
	cmd.Stderr = kept
	if cfg.Stderr != nil {
		cmd.Stderr = io.MultiWriter(kept, cfg.Stderr)
	}
	cmd.WaitDelay = childWaitDelay
	pipes := 1
	if cfg.Trace != nil {
		pipes = 2
	}
	start := time.Now()
	reads, err := childproc.Start(cmd, pipes)
	if err != nil {
		return Result{}, fmt.Errorf("devicejs: RunIsolated: %w", err)
	}
	var readers sync.WaitGroup
	var rep Report
	var repOK bool
	readers.Add(1)
	go func() {
		defer readers.Done()
		rep, repOK, _ = ReadReport(reads[0])
	}()
	if cfg.Trace != nil {
		readers.Add(1)
		go func() {
			defer readers.Done()
			// A line that does not decode is skipped; one longer than trace.MaxLine ends the
			// decoding (the rest is drained so that the child goes on).
			_ = trace.Read(reads[1], func(rec trace.Record) { cfg.Trace(rec.Event()) })
		}()
	}
	killed, waitErr := childproc.Wait(ctx, cmd)
	wall := time.Since(start)
	done := make(chan struct{})
	go func() { readers.Wait(); close(done) }()
	childproc.AwaitReaders(done, childWaitDelay, reads...)
	for _, r := range reads {
		r.Close()
	}
	if killed {
		return Result{Ending: Canceled, Err: context.Cause(ctx)}, nil
	}
	if !repOK {
		rep = Report{}
	}
	return childResult(waitErr, wall, kept.String(), rep, repOK, cfg)
}

// childResult maps the child's exit (waitErr from Wait) and its result line (rep, when ok)
// to a Result or a *ChildExitError. The exit status decides the Ending; the line, used only
// when it names that same status, gives the script error, the Stats, and tells Finished from
// ForElapsed.
func childResult(waitErr error, wall time.Duration, stderr string, rep Report, ok bool, cfg Config) (Result, error) {
	code, signal, isExit := childproc.ExitStatus(waitErr)
	if !isExit {
		return Result{}, fmt.Errorf("devicejs: RunIsolated: %w", waitErr)
	}
	if signal != "" {
		return Result{}, &ChildExitError{Code: -1, Signal: signal, Stderr: stderr}
	}
	ok = ok && rep.Exit == code
	var stats Stats
	if ok {
		stats = rep.Stats
	}
	switch exitcode.Code(code) {
	case exitcode.OK:
		if ok {
			if e := endingNames[rep.Ending]; e == Finished || e == ForElapsed {
				return Result{Ending: e, Stats: stats}, nil
			}
		}
		// No line (a child that does not write one): the status does not tell Finished from
		// ForElapsed; a run that lasted For of device time is taken as ForElapsed.
		scale := cfg.TimeScale
		if scale <= 0 {
			scale = 1
		}
		if cfg.For > 0 && float64(wall) >= float64(cfg.For)/scale {
			return Result{Ending: ForElapsed, Stats: stats}, nil
		}
		return Result{Ending: Finished, Stats: stats}, nil
	case exitcode.ScriptError:
		if se := rep.scriptError(); ok && se != nil {
			return Result{Ending: ScriptFailed, Err: se, Stats: stats}, nil
		}
	case exitcode.Timeout:
		return Result{Ending: Canceled, Err: ErrTimeout, Stats: stats}, nil
	}
	return Result{}, &ChildExitError{Code: code, Stderr: stderr}
}

// headBuffer keeps the first max bytes written to it and discards the rest.
type headBuffer struct {
	mu  sync.Mutex
	max int
	buf bytes.Buffer
}

// Write keeps what fits and reports every byte written.
func (h *headBuffer) Write(p []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if room := h.max - h.buf.Len(); room > 0 {
		h.buf.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

// String is what was kept.
func (h *headBuffer) String() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.buf.String()
}
