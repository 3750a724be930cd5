package devicejs_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/devicejs/devicejs"
	"github.com/devicejs/devicejs/broker"
	"github.com/devicejs/devicejs/internal/syncbuf"
	"github.com/devicejs/devicejs/internal/testbroker"
	"github.com/devicejs/devicejs/mqttcore"
	"github.com/devicejs/devicejs/runtime"
)

// panicHandler is a slog.Handler whose Handle panics with v.
type panicHandler struct {
	slog.Handler
	v any
}

func (h panicHandler) Handle(context.Context, slog.Record) error { panic(h.v) }

// panicClock is a host Clock whose Now panics with v once armed.
type panicClock struct {
	runtime.Clock
	armed *atomic.Bool
	v     any
}

func (c panicClock) Now() time.Time {
	if c.armed.Load() {
		panic(c.v)
	}
	return c.Clock.Now()
}

// hookScript prints, logs a refused call (debug level), connects, reads the clock and ends.
const hookScript = `print('hello');
mqtt.connect(5);
var c = mqtt.connect('mqtt://broker:1883', {clientId: 'dev'});
c.on('connect', function() { setTimeout(function() { Date.now(); c.end(); }, 20); });
`

// TestHookPanics makes each host callback panic, with several kinds of value, and checks that
// every one is recovered the same way: the process lives, the run ends ScriptFailed with a
// KindPanic *runtime.ScriptError whose Err is a *devicejs.HookError naming the callback, the
// panic is logged, and a callback that panicked is not called again (issue 22, finding 4).
func TestHookPanics(t *testing.T) {
	b := testbroker.MochiConfig(t, broker.Config{})
	values := []struct {
		name string
		v    func() any
	}{
		{"string", func() any { return "boom" }},
		{"error", func() any { return errHookTest }},
		{"runtime error", func() (r any) {
			defer func() { r = recover() }()
			s := make([]int, 1)
			i := len(s) + 1
			return s[i] // index out of range: a runtime.Error
		}},
	}
	tt := []struct {
		hook  string
		setup func(cfg *devicejs.Config, v any, calls *atomic.Int32)
	}{
		{devicejs.HookOnEvent, func(cfg *devicejs.Config, v any, calls *atomic.Int32) {
			cfg.OnEvent = func(devicejs.Event) { calls.Add(1); panic(v) }
		}},
		{devicejs.HookTrace, func(cfg *devicejs.Config, v any, calls *atomic.Int32) {
			cfg.Trace = func(mqttcore.TraceEvent) { calls.Add(1); panic(v) }
		}},
		{devicejs.HookStdout, func(cfg *devicejs.Config, v any, calls *atomic.Int32) {
			cfg.Stdout = writerFunc(func(p []byte) (int, error) { calls.Add(1); panic(v) })
		}},
		{devicejs.HookClientID, func(cfg *devicejs.Config, v any, calls *atomic.Int32) {
			cfg.ClientID = func(string) string { calls.Add(1); panic(v) }
		}},
		{devicejs.HookDial, func(cfg *devicejs.Config, v any, calls *atomic.Int32) {
			cfg.Dial = func(context.Context, string, string) (net.Conn, error) { calls.Add(1); panic(v) }
		}},
		{devicejs.HookLogger, func(cfg *devicejs.Config, v any, calls *atomic.Int32) {
			inner := slog.NewTextHandler(&syncbuf.Buffer{}, &slog.HandlerOptions{Level: slog.LevelDebug})
			cfg.Logger = slog.New(panicHandler{Handler: inner, v: v})
		}},
		{devicejs.HookClock, func(cfg *devicejs.Config, v any, calls *atomic.Int32) {
			armed := &atomic.Bool{}
			cfg.Clock = panicClock{Clock: runtime.NewWallClock(), armed: armed, v: v}
			cfg.OnEvent = func(e devicejs.Event) {
				if e.Kind == devicejs.EventConnect {
					armed.Store(true)
				}
			}
		}},
	}
	for _, tc := range tt {
		for _, val := range values {
			t.Run(tc.hook+"/"+val.name, func(t *testing.T) {
				var calls atomic.Int32
				var logs syncbuf.Buffer
				cfg := devicejs.Config{
					Dial:   b.MemoryDialer(),
					Logger: slog.New(slog.NewTextHandler(&logs, nil)),
					For:    20 * time.Second,
				}
				v := val.v()
				tc.setup(&cfg, v, &calls)
				res, out := run(t, hookScript, cfg)
				if res.Ending != devicejs.ScriptFailed {
					t.Fatalf("ending %v, err %v, output %q", res.Ending, res.Err, out)
				}
				var he *devicejs.HookError
				se := res.ScriptError()
				if se == nil || se.Kind != runtime.KindPanic || !errors.As(res.Err, &he) {
					t.Fatalf("Err %T %v, want a KindPanic ScriptError wrapping a *HookError", res.Err, res.Err)
				}
				if he.Hook != tc.hook || he.Value != v || !strings.Contains(he.Stack, "hookpanic_test.go") ||
					!strings.Contains(se.Message, "Config."+tc.hook+" panicked") || se.GoStack == "" {
					t.Errorf("HookError %q %v (stack has the hook: %v), ScriptError message %q", he.Hook, he.Value, strings.Contains(he.Stack, "hookpanic_test.go"), se.Message)
				}
				if err, ok := v.(error); ok && !errors.Is(res.Err, err) {
					t.Errorf("errors.Is(Err, the panic value) = false")
				}
				if n := calls.Load(); n > 1 {
					t.Errorf("the callback was called %d times; want no call after its panic", n)
				}
				if tc.hook != devicejs.HookLogger && !strings.Contains(logs.String(), "hook="+tc.hook) {
					t.Errorf("panic not logged: %q", logs.String())
				}
			})
		}
	}
}

// errHookTest is a panic value that is an error.
var errHookTest = errors.New("hook failed")

// writerFunc is an io.Writer.
type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// TestHookPanicAtEnd: a hook that panics only on the session's last events, while the run is
// ending, still fails the run.
func TestHookPanicAtEnd(t *testing.T) {
	b := testbroker.MochiConfig(t, broker.Config{})
	tt := []struct {
		name string
		cfg  devicejs.Config
	}{
		{"OnEvent on end", devicejs.Config{OnEvent: func(e devicejs.Event) {
			if e.Kind == devicejs.EventEnd {
				panic("at end")
			}
		}}},
		{"Trace on end", devicejs.Config{Trace: func(e mqttcore.TraceEvent) {
			if e.Kind == mqttcore.TraceEnd {
				panic("at end")
			}
		}}},
	}
	for _, tc := range tt {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Dial, tc.cfg.For = b.MemoryDialer(), 300*time.Millisecond // the session is ended by the end of the run
			res, out := run(t, "var c = mqtt.connect('mqtt://broker:1883');", tc.cfg)
			var he *devicejs.HookError
			if res.Ending != devicejs.ScriptFailed || !errors.As(res.Err, &he) || he.Value != "at end" {
				t.Fatalf("ending %v, err %v, output %q", res.Ending, res.Err, out)
			}
		})
	}
}

// TestStartDonePanic: a panic in Device.Start's done, which runs after the run, is recovered
// and logged.
func TestStartDonePanic(t *testing.T) {
	var logs syncbuf.Buffer
	d, err := devicejs.New(devicejs.Config{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	called := make(chan struct{})
	if err := d.Start(context.Background(), devicejs.Script{Source: "1"}, func(devicejs.Result) {
		close(called)
		panic("done boom")
	}); err != nil {
		t.Fatal(err)
	}
	<-called
	testbroker.WaitFor(t, 45*time.Second, "the done panic logged", func() bool { return strings.Contains(logs.String(), "done panicked: done boom") })
}
