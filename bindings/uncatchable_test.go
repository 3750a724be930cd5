package bindings_test

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestUncatchablePassThrough: argument reading swallows script exceptions, but not what
// script code cannot catch either: stopping the run (--for) while a getter spins, and goja's
// own stack overflow in a getter, end the run instead of becoming an invalid argument.
func TestUncatchablePassThrough(t *testing.T) {
	t.Run("interrupt", func(t *testing.T) {
		start := time.Now()
		out, err := env{For: 200 * time.Millisecond}.run(t, `
var c = mqtt.connect('mqtt://127.0.0.1', {get keepalive() { for (;;) {} }});
print('not reached ' + c);
`)
		if !errors.Is(err, context.DeadlineExceeded) || out != "" {
			t.Errorf("err = %v, output %q; want the --for deadline and no output", err, out)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("the run took %v to stop", d)
		}
	})
	t.Run("stack overflow", func(t *testing.T) {
		// A small call stack: every level re-panics through Try and the firewall, and Go's
		// panics scan the whole stack, so unwinding is quadratic in the depth (about 5 min at
		// the default 10000 with -race). The getter comes from new Function, which the
		// runtime's catchable depth check does not cover (docs/runtime.md, "Call-stack
		// bound"): goja's own, uncatchable bound ends it. (A script function's catchable
		// RangeError is an ordinary exception, which makes the argument invalid.)
		out, err := env{MaxCallStackSize: 200}.run(t, `
var opts = {};
Object.defineProperty(opts, 'keepalive', {get: new Function("return mqtt.connect('mqtt://127.0.0.1', opts)")});
var c = mqtt.connect('mqtt://127.0.0.1', opts);
print('not reached ' + c);
`)
		if err == nil || out != "" {
			t.Errorf("err = %v, output %q; want the run to fail without output", err, out)
		}
	})
}
