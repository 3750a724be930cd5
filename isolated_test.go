package devicejs_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/devicejs/devicejs"
	"github.com/devicejs/devicejs/internal/syncbuf"
	"github.com/devicejs/devicejs/internal/testbroker"
	"github.com/devicejs/devicejs/mqttcore"
	"github.com/devicejs/devicejs/runtime"
)

// buildDevicejs builds the devicejs binary into a temporary folder of t.
func buildDevicejs(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "devicejs")
	build := exec.Command("go", "build", "-o", bin, "github.com/devicejs/devicejs/cmd/devicejs")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building devicejs: %v\n%s", err, out)
	}
	return bin
}

// childrenNamed lists the pids of this process's children whose command name is name.
func childrenNamed(name string) []int {
	var pids []int
	ents, _ := os.ReadDir("/proc")
	me := strconv.Itoa(os.Getpid())
	for _, e := range ents {
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...
		s := string(b)
		open, closing := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || closing < open {
			continue
		}
		f := strings.Fields(s[closing+1:])
		if s[open+1:closing] == name && len(f) > 1 && f[1] == me {
			pid, _ := strconv.Atoi(e.Name())
			pids = append(pids, pid)
		}
	}
	return pids
}

// pollFor polls cond every 10 ms for up to d.
func pollFor(d time.Duration, cond func() bool) bool {
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return cond()
}

// heapInUse is the live heap after a collection.
func heapInUse() uint64 {
	goruntime.GC()
	var ms goruntime.MemStats
	goruntime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// TestRunIsolated runs scripts in a child `devicejs run` (built once here) against mochi on
// loopback TCP: a normal run (output, Result, trace events decoded from the child's pipe, the
// message at a peer), --for, scripts past a 64 MiB budget (the caller's heap unchanged), a
// stuck script ended by the caller's context (the child gone at once), --timeout, an uncaught
// error and a syntax error (the ScriptError and the Stats from the child's result line), and
// children that crash or refuse their flags (ChildExitError). internal/isolation's tests cover
// the result line against hostile children.
func TestRunIsolated(t *testing.T) {
	bin := buildDevicejs(t)
	tb := testbroker.Mochi(t)
	run := func(t *testing.T, ctx context.Context, name, src string, cfg devicejs.IsolatedConfig) (devicejs.Result, string, error) {
		t.Helper()
		var out syncbuf.Buffer
		if cfg.Binary == "" {
			cfg.Binary = bin
		}
		if cfg.Broker == "" {
			cfg.Broker = tb.Addr()
		}
		if cfg.Stdout == nil {
			cfg.Stdout = &out
		}
		res, err := devicejs.RunIsolated(ctx, devicejs.Script{Name: name, Source: src}, cfg)
		return res, out.String(), err
	}
	bounded := func(t *testing.T) context.Context {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		t.Cleanup(cancel)
		return ctx
	}

	t.Run("normal run with trace", func(t *testing.T) {
		peer := testbroker.Subscribe(t, tb.Addr(), "iso/#", testbroker.WithQoS(1))
		var mu sync.Mutex
		var events []mqttcore.TraceEvent
		src := `var c = mqtt.connect('mqtt://127.0.0.1:1883', {clientId: 'iso1'});
c.on('connect', function() {
  c.publish('iso/data', 'hello', {qos: 1}, function(err) { print('published ' + err.code); c.end(); });
});`
		res, out, err := run(t, bounded(t), "normal.js", src, devicejs.IsolatedConfig{
			Trace: func(e mqttcore.TraceEvent) { mu.Lock(); events = append(events, e); mu.Unlock() }})
		if err != nil || res.Ending != devicejs.Finished || res.Err != nil {
			t.Fatalf("result %+v, err %v, stdout %q", res, err, out)
		}
		if out != "published 0\n" {
			t.Errorf("stdout %q", out)
		}
		if res.Stats.Published != 1 { // the Stats cross the process boundary
			t.Errorf("stats %+v, want 1 published", res.Stats)
		}
		select {
		case m := <-peer:
			if m.Topic != "iso/data" || string(m.Payload) != "hello" {
				t.Errorf("peer got %s %q", m.Topic, m.Payload)
			}
		case <-time.After(10 * time.Second):
			t.Error("the peer never got the message")
		}
		mu.Lock()
		defer mu.Unlock()
		var connack, publish, pubPacket bool
		for _, e := range events {
			switch {
			case e.Kind == mqttcore.TraceConnack && e.ClientID == "iso1" && e.ReturnCode == 0 && !e.Time.IsZero():
				connack = true
			case e.Kind == mqttcore.TracePublish && e.Topic == "iso/data" && e.QoS == 1 && e.Bytes == 5:
				publish = true
			case e.Kind == mqttcore.TracePacket && e.Packet == "PUBLISH" && e.Dir == mqttcore.DirSend && e.HasID && e.Size > 0:
				pubPacket = true
			}
		}
		if !connack || !publish || !pubPacket {
			t.Errorf("trace: connack %v, publish %v, PUBLISH packet %v in %d events: %+v", connack, publish, pubPacket, len(events), events)
		}
	})

	t.Run("for elapsed", func(t *testing.T) {
		// 1 s of wall time; a loaded machine may stall the child, so only bounds are checked.
		src := `setInterval(function() { print('tick'); }, 200);`
		res, out, err := run(t, bounded(t), "for.js", src, devicejs.IsolatedConfig{For: 4 * time.Second, TimeScale: 4})
		if n := strings.Count(out, "tick\n"); err != nil || res.Ending != devicejs.ForElapsed || n < 1 || n > 20 {
			t.Fatalf("result %+v, err %v, stdout %q", res, err, out)
		}
	})

	for _, tc := range []struct{ name, src string }{
		{"leak in a timer", `var hold = []; setInterval(function() { var a = new Float64Array(1 << 20); a.fill(1); hold.push(a); }, 5);`},
		{"one huge built-in call", `new Array(1.5e8).fill(1); print('survived');`},
		{"string doubling", `var s = 'x', hold = []; setInterval(function() { s = s + s; hold.push(s + '!'); }, 1);`},
	} {
		t.Run("memory budget, "+tc.name, func(t *testing.T) {
			before := heapInUse()
			var errOut syncbuf.Buffer
			res, out, err := run(t, bounded(t), "leak.js", tc.src, devicejs.IsolatedConfig{MaxMemory: 64 << 20, Stderr: &errOut})
			after := heapInUse()
			t.Logf("caller's heap %.1f -> %.1f MiB", float64(before)/(1<<20), float64(after)/(1<<20))
			if err != nil || res.Ending != devicejs.ScriptFailed || !errors.Is(res.Err, runtime.ErrMemoryBudget) {
				t.Fatalf("result %+v, err %v, stdout %q, stderr %q", res, err, out, errOut.String())
			}
			se := res.ScriptError()
			if se == nil || se.Kind != runtime.KindLimit || se.File != "leak.js" || !strings.Contains(se.Message, "the budget is 64 MiB") {
				t.Errorf("script error %#v", se)
			}
			if strings.Contains(out, "survived") {
				t.Errorf("stdout %q", out)
			}
			if after > before+16<<20 {
				t.Errorf("the caller's heap grew from %d to %d bytes", before, after)
			}
		})
	}

	t.Run("stuck script, context canceled", func(t *testing.T) {
		ctx, cancel := context.WithCancelCause(context.Background())
		defer cancel(nil)
		var out syncbuf.Buffer
		type ret struct {
			res devicejs.Result
			err error
		}
		done := make(chan ret, 1)
		go func() {
			res, err := devicejs.RunIsolated(ctx, devicejs.Script{Name: "spin.js", Source: `print('spinning'); while (1) {}`},
				devicejs.IsolatedConfig{Binary: bin, Stdout: &out})
			done <- ret{res, err}
		}()
		if !pollFor(30*time.Second, func() bool { return out.String() == "spinning\n" }) {
			t.Fatalf("the script never started: %q", out.String())
		}
		if kids := childrenNamed("devicejs"); len(kids) != 1 {
			t.Fatalf("children named devicejs while it spins: %v, want one", kids)
		}
		stop := errors.New("caller stopped")
		start := time.Now()
		cancel(stop)
		var r ret
		select {
		case r = <-done:
		case <-time.After(20 * time.Second):
			t.Fatal("RunIsolated did not return 20 s after the cancel")
		}
		took := time.Since(start)
		t.Logf("returned %v after the cancel", took.Round(time.Millisecond))
		if r.err != nil || r.res.Ending != devicejs.Canceled || !errors.Is(r.res.Err, stop) {
			t.Errorf("result %+v, err %v", r.res, r.err)
		}
		if took > 3*time.Second {
			t.Errorf("took %v to end the child", took)
		}
		if kids := childrenNamed("devicejs"); len(kids) != 0 {
			t.Errorf("children left: %v", kids)
		}
	})

	t.Run("timeout", func(t *testing.T) {
		res, _, err := run(t, bounded(t), "spin.js", `while (1) {}`, devicejs.IsolatedConfig{Timeout: time.Second})
		if err != nil || res.Ending != devicejs.Canceled || !errors.Is(res.Err, devicejs.ErrIsolatedTimeout) ||
			!errors.Is(res.Err, context.DeadlineExceeded) {
			t.Fatalf("result %+v, err %v", res, err)
		}
	})

	for _, tc := range []struct {
		name, src string
		kind      runtime.ErrorKind
		msg       string
		line      int
		stack     string
	}{
		{"uncaught error", "function f() {\n  throw new Error('boom');\n}\nprint('before');\nf();", runtime.KindException, "Error: boom", 2, "at f"},
		{"uncaught in a timer", "setTimeout(function() { null.x; }, 10);", runtime.KindException, "TypeError: Cannot read property", 1, ""},
		{"syntax error", "print('x';", runtime.KindSyntax, "", 1, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var errOut syncbuf.Buffer
			res, _, err := run(t, bounded(t), "boom.js", tc.src, devicejs.IsolatedConfig{Stderr: &errOut})
			se := res.ScriptError()
			if err != nil || res.Ending != devicejs.ScriptFailed || se == nil {
				t.Fatalf("result %+v, err %v, stderr %q", res, err, errOut.String())
			}
			if se.Kind != tc.kind || !strings.HasPrefix(se.Message, tc.msg) || se.File != "boom.js" || se.Line != tc.line ||
				!strings.Contains(se.Stack, tc.stack) {
				t.Errorf("script error %#v, want kind %v, message %q, line %d, stack with %q", se, tc.kind, tc.msg, tc.line, tc.stack)
			}
			if !strings.Contains(errOut.String(), se.Message) {
				t.Errorf("stderr %q does not carry the message", errOut.String())
			}
		})
	}

	t.Run("children that do not run", func(t *testing.T) {
		crash := filepath.Join(t.TempDir(), "crash")
		if err := os.WriteFile(crash, []byte("#!/bin/sh\necho 'fatal error: oops' >&2\nkill -KILL $$\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		tt := []struct {
			name   string
			cfg    devicejs.IsolatedConfig
			code   int
			signal string
		}{
			{"killed by a signal", devicejs.IsolatedConfig{Binary: crash}, -1, "killed"},
			{"usage error", devicejs.IsolatedConfig{Link: "no-such-profile"}, 2, ""},
		}
		for _, tc := range tt {
			res, _, err := run(t, bounded(t), "x.js", "print(1)", tc.cfg)
			var ce *devicejs.ChildExitError
			if !errors.As(err, &ce) || ce.Code != tc.code || ce.Signal != tc.signal || ce.Stderr == "" {
				t.Errorf("%s: result %+v, err %#v", tc.name, res, err)
			}
		}
		if _, _, err := run(t, bounded(t), "x.js", "print(1)", devicejs.IsolatedConfig{Binary: "/nonexistent/devicejs"}); err == nil {
			t.Error("a missing binary gave no error")
		}
		over, cancel := context.WithCancelCause(context.Background())
		stop := errors.New("over already")
		cancel(stop)
		if res, _, err := run(t, over, "x.js", "print(1)", devicejs.IsolatedConfig{}); err != nil || res.Ending != devicejs.Canceled || !errors.Is(res.Err, stop) {
			t.Errorf("a context already over: result %+v, err %v", res, err)
		}
		if _, err := devicejs.RunIsolated(context.Background(), devicejs.Script{Name: "x.js"}, devicejs.IsolatedConfig{}); err == nil {
			t.Error("no Binary gave no error")
		}
	})
}
