package runtime_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/dop251/goja"

	"github.com/devicejs/devicejs/runtime"
)

// stubMQTT installs a minimal mqtt object: the first connect fails (returns
// null), later ones return a client whose 'connect' event is posted to the
// loop, as the real bindings do.
func stubMQTT(l *runtime.Loop) error {
	vm := l.VM()
	calls := 0
	mqtt := vm.NewObject()
	err := mqtt.Set("connect", func(goja.FunctionCall) goja.Value {
		calls++
		if calls == 1 {
			return goja.Null()
		}
		h := l.Hold()
		client := vm.NewObject()
		_ = client.Set("on", func(call goja.FunctionCall) goja.Value {
			fn, ok := goja.AssertFunction(call.Argument(1))
			if ok && call.Argument(0).String() == "connect" {
				go l.Post(func(*goja.Runtime) error { _, err := fn(goja.Undefined()); return err })
			}
			return goja.Undefined()
		})
		_ = client.Set("end", func(goja.FunctionCall) goja.Value { h.Release(); return goja.Undefined() })
		return client
	})
	if err != nil {
		return err
	}
	return vm.Set("mqtt", mqtt)
}

// TestSample4 runs the spec's sample 4 verbatim: a top-level while(1) loop
// that only makes progress through a setInterval callback and .wait().
func TestSample4(t *testing.T) {
	src, err := os.ReadFile("../testdata/samples/sample4.js")
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	l := runtime.New(runtime.Options{Stdout: &out, Clock: runtime.NewScaledClock(1000)})
	ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond) // 400 s of device time
	defer cancel()
	err = l.Run(ctx, "sample4.js", string(src), stubMQTT)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Run = %v, want the context's deadline", err)
	}
	got := out.String()
	if !strings.HasPrefix(got, "Waiting for mqtt resource release\n") {
		t.Errorf("output does not start with the failed connect:\n%s", got)
	}
	for _, want := range []string{"CONNECTED\n", "end event\nABORT\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
}
