// Package runtimetest runs device scripts in tests of packages built on
// runtime (bindings, cmd).
package runtimetest

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/devicejs/devicejs/runtime"
)

// Scale is the time scale of the clock Run uses: a 10 s device timer fires
// after 10 ms of wall time.
const Scale = 1000

// Timeout bounds a Run in wall time; a script still running then fails with
// context.DeadlineExceeded.
const Timeout = 30 * time.Second

// Run runs src (named "test.js") to completion on a fresh Loop with a scaled
// clock (Scale) and returns what it printed and Run's error. setup functions
// run on the loop goroutine before the script, as in runtime.Loop.Run. The
// run ends when the test's context ends too, so it leaves no goroutine
// behind. Call it from the test goroutine.
func Run(t testing.TB, src string, setup ...func(l *runtime.Loop) error) (stdout string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(testContext(t), Timeout)
	t.Cleanup(cancel)
	defer cancel()
	var out bytes.Buffer
	l := runtime.New(runtime.Options{Stdout: &out, Clock: runtime.NewScaledClock(Scale)})
	err = l.Run(ctx, "test.js", src, setup...)
	return out.String(), err
}

// testContext is t.Context when t has one.
func testContext(t testing.TB) context.Context {
	if c, ok := t.(interface{ Context() context.Context }); ok {
		return c.Context()
	}
	return context.Background()
}
