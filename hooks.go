package devicejs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"reflect"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/devicejs/devicejs/runtime"
)

// hook indexes the host callbacks in hooks.broken.
type hook uint8

const (
	hOnEvent hook = iota
	hTrace
	hStdout
	hLogger
	hClientID
	hDial
	hClock
)

// hookNames are the HookError.Hook names, indexed by hook.
var hookNames = [...]string{hOnEvent: HookOnEvent, hTrace: HookTrace, hStdout: HookStdout, hLogger: HookLogger,
	hClientID: HookClientID, hDial: HookDial, hClock: HookClock}

// hooks recovers the panics of one run's host callbacks: the first ends the run (Interrupt
// with a KindPanic *runtime.ScriptError wrapping the *HookError), each is logged, and a
// callback that panicked is not called again. Safe from any goroutine.
type hooks struct {
	name   string // the script's name, for the ScriptError
	loop   *runtime.Loop
	log    *slog.Logger // Config.Logger behind its own recovery, or a discarding logger
	broken atomic.Uint32
	first  atomic.Pointer[runtime.ScriptError]
}

// errHookPanicked is what a broken Dial returns before the run's error is set.
var errHookPanicked = errors.New("devicejs: a host callback panicked")

// err is the run's hook error, for a callback that must return one.
func (h *hooks) err() error {
	if se := h.first.Load(); se != nil {
		return se
	}
	return errHookPanicked
}

// ok reports whether callback k may be called (it has not panicked).
func (h *hooks) ok(k hook) bool { return h.broken.Load()&(1<<k) == 0 }

// recovered handles the value r recovered from callback k; call it from the deferred function
// that recovered it, so that the stack is the panicking goroutine's. It reports whether r was a
// panic.
func (h *hooks) recovered(k hook, r any) bool {
	if r == nil {
		return false
	}
	h.broken.Or(1 << k)
	he := &HookError{Hook: hookNames[k], Value: r, Stack: string(debug.Stack())}
	msg := he.Error()[len("devicejs: "):]
	se := &runtime.ScriptError{Kind: runtime.KindPanic, File: h.name, Message: msg, GoStack: he.Stack, Err: he}
	if h.first.CompareAndSwap(nil, se) {
		h.loop.Interrupt(se)
	}
	if k != hLogger {
		h.log.Error("devicejs: host callback panicked; the run ends", "hook", he.Hook, "panic", fmt.Sprint(r), "stack", he.Stack)
	}
	return true
}

// writer is Config.Stdout behind the recovery (print() runs on the loop goroutine).
type writer struct {
	w io.Writer
	h *hooks
}

func (w *writer) Write(p []byte) (n int, err error) {
	if !w.h.ok(hStdout) {
		return len(p), nil
	}
	defer func() {
		if w.h.recovered(hStdout, recover()) {
			n, err = len(p), nil
		}
	}()
	return w.w.Write(p)
}

// handler is the slog.Handler of Config.Logger behind the recovery (any goroutine).
type handler struct {
	in slog.Handler
	h  *hooks
}

func (s *handler) Enabled(ctx context.Context, l slog.Level) (on bool) {
	if !s.h.ok(hLogger) {
		return false
	}
	defer func() {
		if s.h.recovered(hLogger, recover()) {
			on = false
		}
	}()
	return s.in.Enabled(ctx, l)
}

func (s *handler) Handle(ctx context.Context, r slog.Record) (err error) {
	if !s.h.ok(hLogger) {
		return nil
	}
	defer func() {
		if s.h.recovered(hLogger, recover()) {
			err = nil
		}
	}()
	return s.in.Handle(ctx, r)
}

func (s *handler) WithAttrs(attrs []slog.Attr) (out slog.Handler) {
	defer func() {
		if s.h.recovered(hLogger, recover()) {
			out = s
		}
	}()
	return &handler{in: s.in.WithAttrs(attrs), h: s.h}
}

func (s *handler) WithGroup(name string) (out slog.Handler) {
	defer func() {
		if s.h.recovered(hLogger, recover()) {
			out = s
		}
	}()
	return &handler{in: s.in.WithGroup(name), h: s.h}
}

// clientID is Config.ClientID behind the recovery (mqtt.connect(), on the loop goroutine).
func (h *hooks) clientID(f func(string) string) func(string) string {
	return func(id string) (out string) {
		if !h.ok(hClientID) {
			return id
		}
		defer func() {
			if h.recovered(hClientID, recover()) {
				out = id
			}
		}()
		return f(id)
	}
}

// dial is a host Dialer behind the recovery (on the connection attempt's goroutine).
func (h *hooks) dial(d Dialer) Dialer {
	return func(ctx context.Context, network, addr string) (c net.Conn, err error) {
		if !h.ok(hDial) {
			return nil, h.err()
		}
		defer func() {
			if h.recovered(hDial, recover()) {
				c, err = nil, h.err()
			}
		}()
		return d(ctx, network, addr)
	}
}

// clock is a host Clock behind the recovery (any goroutine). After a panic, Now is the wall
// clock and AfterFunc schedules nothing: the run is ending.
type clock struct {
	c runtime.Clock
	h *hooks
}

func (c *clock) Now() (t time.Time) {
	if !c.h.ok(hClock) {
		return time.Now()
	}
	defer func() {
		if c.h.recovered(hClock, recover()) {
			t = time.Now()
		}
	}()
	return c.c.Now()
}

func (c *clock) AfterFunc(d time.Duration, f func()) (stop func() bool) {
	if !c.h.ok(hClock) {
		return func() bool { return false }
	}
	defer func() {
		if c.h.recovered(hClock, recover()) {
			stop = func() bool { return false }
		}
	}()
	inner := c.c.AfterFunc(d, f)
	return func() (stopped bool) {
		if !c.h.ok(hClock) {
			return false
		}
		defer func() {
			if c.h.recovered(hClock, recover()) {
				stopped = false
			}
		}()
		return inner()
	}
}

// runtimePkg is the import path of package runtime, whose own Clocks need no recovery.
var runtimePkg = reflect.TypeFor[runtime.ScriptError]().PkgPath()

// ownClock reports whether c is one of package runtime's clocks.
func ownClock(c runtime.Clock) bool {
	t := reflect.TypeOf(c)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.PkgPath() == runtimePkg
}

// safeDone is Device.Start's done behind a recovery: it runs after the run, so a panic is only
// logged.
func safeDone(done func(Result), log *slog.Logger) func(Result) {
	return func(res Result) {
		defer func() {
			if r := recover(); r != nil {
				he := &HookError{Hook: HookDone, Value: r, Stack: string(debug.Stack())}
				log.Error(he.Error(), "hook", he.Hook, "panic", fmt.Sprint(r), "stack", he.Stack)
			}
		}()
		done(res)
	}
}
