package devicejs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/devicejs/devicejs/runtime"
)

// childWaitDelay bounds how long RunIsolated waits for the child's output pipes once it was
// killed or has exited (a grandchild holding them open cannot keep it waiting).
const childWaitDelay = 2 * time.Second

// runChild runs bin with args in dir and maps its end to a Result (see RunIsolated).
func runChild(ctx context.Context, bin, dir string, args []string, cfg IsolatedConfig) (Result, error) {
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
	ownGroup(cmd)
	var traceDone chan struct{}
	var traceR *os.File
	if cfg.Trace != nil {
		r, w, err := os.Pipe()
		if err != nil {
			return Result{}, fmt.Errorf("devicejs: RunIsolated: %w", err)
		}
		defer w.Close() // after Start too: the child holds its own copy
		traceR = r
		cmd.ExtraFiles = []*os.File{w}
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		if traceR != nil {
			traceR.Close()
		}
		return Result{}, fmt.Errorf("devicejs: RunIsolated: %w", err)
	}
	if traceR != nil {
		cmd.ExtraFiles[0].Close() // the child's copy keeps the pipe open until it exits
		traceDone = make(chan struct{})
		go func() {
			defer close(traceDone)
			defer traceR.Close()
			readTrace(traceR, cfg.Trace)
		}()
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	var waitErr error
	killed := false
	select {
	case waitErr = <-exited:
	case <-ctx.Done():
		killGroup(cmd)
		killed = true
		waitErr = <-exited
	}
	wall := time.Since(start)
	if traceDone != nil {
		<-traceDone
	}
	if killed {
		return Result{Ending: Canceled, Err: context.Cause(ctx)}, nil
	}
	return childResult(waitErr, wall, kept.String(), cfg)
}

// childResult maps the child's exit (waitErr from Wait) to a Result or a *ChildExitError.
func childResult(waitErr error, wall time.Duration, stderr string, cfg IsolatedConfig) (Result, error) {
	code := 0
	if waitErr != nil {
		var ee *exec.ExitError
		if !errors.As(waitErr, &ee) {
			return Result{}, fmt.Errorf("devicejs: RunIsolated: %w", waitErr)
		}
		code = ee.ExitCode()
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return Result{}, &ChildExitError{Code: -1, Signal: ws.Signal().String(), Stderr: stderr}
		}
	}
	switch code {
	case 0:
		scale := cfg.TimeScale
		if scale <= 0 {
			scale = 1
		}
		if cfg.For > 0 && float64(wall) >= float64(cfg.For)/scale {
			return Result{Ending: ForElapsed}, nil
		}
		return Result{Ending: Finished}, nil
	case 1:
		return Result{Ending: ScriptFailed, Err: childScriptError(stderr)}, nil
	case 3:
		return Result{Ending: Canceled, Err: ErrIsolatedTimeout}, nil
	}
	return Result{}, &ChildExitError{Code: code, Stderr: stderr}
}

// childScriptError rebuilds the *runtime.ScriptError `devicejs run` printed to stderr:
// "file[:line:col]: Uncaught|SyntaxError: |panic: message", then "\tat ..." stack lines. The
// first line of that shape is used; failing one, the first line of stderr is the message.
func childScriptError(stderr string) *runtime.ScriptError {
	lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
	for i, line := range lines {
		se, ok := parseErrorLine(line)
		if !ok {
			continue
		}
		var stack []string
		for _, l := range lines[i+1:] {
			if !strings.HasPrefix(l, "\tat ") {
				break
			}
			stack = append(stack, l)
		}
		se.Stack = strings.Join(stack, "\n")
		return se
	}
	first := strings.TrimPrefix(lines[0], "devicejs: ")
	if first == "" {
		first = "the child exited with status 1"
	}
	return &runtime.ScriptError{Kind: runtime.KindLimit, Message: first}
}

// parseErrorLine parses the first line of a printed ScriptError.
func parseErrorLine(line string) (*runtime.ScriptError, bool) {
	file, rest, ok := strings.Cut(line, ": ")
	if !ok || !strings.Contains(file, ".") || strings.ContainsAny(file, " \t") {
		return nil, false
	}
	se := &runtime.ScriptError{File: file}
	if name, pos, ok := strings.Cut(file, ":"); ok {
		if _, err := fmt.Sscanf(pos, "%d:%d", &se.Line, &se.Column); err != nil {
			return nil, false
		}
		se.File = name
	}
	switch {
	case strings.HasPrefix(rest, "Uncaught "):
		se.Kind, se.Message = runtime.KindException, strings.TrimPrefix(rest, "Uncaught ")
	case strings.HasPrefix(rest, "SyntaxError: "):
		se.Kind, se.Message = runtime.KindSyntax, strings.TrimPrefix(rest, "SyntaxError: ")
	case strings.HasPrefix(rest, "panic: "):
		se.Kind, se.Message = runtime.KindPanic, strings.TrimPrefix(rest, "panic: ")
	case strings.HasPrefix(rest, "memory budget exceeded"):
		se.Kind, se.Message, se.Err = runtime.KindLimit, rest, runtime.ErrMemoryBudget
	default:
		se.Kind, se.Message = runtime.KindLimit, rest
	}
	return se, true
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
