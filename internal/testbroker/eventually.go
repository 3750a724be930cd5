package testbroker

import (
	"testing"
	"time"
)

// Eventually polls cond every 2 ms until it holds (true) or d of wall time has passed (false).
// For a condition another goroutine makes true (a broker's state, a count): the test's one way
// to wait instead of a sleep.
func Eventually(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(2 * time.Millisecond)
	}
	return true
}

// WaitFor is Eventually that fails the test, naming what it waited for, when d passes first.
func WaitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	if !Eventually(d, cond) {
		t.Fatalf("timed out after %v waiting for %s", d, what)
	}
}

// Receive waits up to d for a value on ch (or its close, which gives the zero value) and
// returns it, failing the test, naming what it waited for, when d passes first.
func Receive[T any](t testing.TB, ch <-chan T, d time.Duration, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(d):
		t.Fatalf("timed out after %v waiting for %s", d, what)
	}
	var zero T
	return zero
}
