package runtime_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/devicejs/devicejs/runtime"
)

func TestMain(m *testing.M) {
	// regexp2's clock goroutine outlives a backtracking match by RegexpMatchTimeout + 1 s.
	// The resume workers of Start (workers.go) outlive the last run by up to 250 ms.
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("github.com/dlclark/regexp2/v2.runClock"),
		goleak.IgnoreAnyFunction("github.com/devicejs/devicejs/runtime.worker"))
}

// runManual runs src on a ManualClock, advancing device time in steps of
// step until the run ends. It returns the output and Run's error.
func runManual(t *testing.T, src string, step time.Duration) (string, error) {
	t.Helper()
	clock := runtime.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	var out bytes.Buffer
	l := runtime.New(runtime.Options{Stdout: &out, Clock: clock})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx, "test.js", src) }()
	for {
		select {
		case err := <-done:
			return out.String(), err
		case <-time.After(time.Millisecond):
			clock.Advance(step)
		}
	}
}
