package runtime_test

import (
	"math"
	"testing"
	"time"

	"github.com/devicejs/devicejs/runtime"
)

func TestScaledClock(t *testing.T) {
	c := runtime.NewScaledClock(1000)
	wall0, dev0 := time.Now(), c.Now()
	if d := dev0.Sub(wall0); d < -time.Second || d > time.Second {
		t.Errorf("device time starts %v away from wall time", d)
	}
	fired := make(chan time.Time, 1)
	c.AfterFunc(5*time.Second, func() { fired <- c.Now() })
	select {
	case at := <-fired:
		if at.Sub(dev0) < 5*time.Second {
			t.Errorf("fired after %v of device time, want >= 5s", at.Sub(dev0))
		}
		if w := time.Since(wall0); w > 2*time.Second {
			t.Errorf("5 s of device time at scale 1000 took %v of wall time", w)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("timer did not fire")
	}
	stop := c.AfterFunc(time.Hour, func() { t.Error("stopped timer fired") })
	if !stop() {
		t.Error("stop of a pending timer returned false")
	}
}

func TestNewScaledClockRejectsBadScale(t *testing.T) {
	for _, s := range []float64{0, math.Copysign(0, -1), -1, math.NaN(), math.Inf(1), math.Inf(-1), 1e-12, 9.99e-4, 1e6 + 1, math.MaxFloat64, math.SmallestNonzeroFloat64} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("NewScaledClock(%v) did not panic", s)
				}
			}()
			runtime.NewScaledClock(s)
		}()
	}
}

// TestCheckTimeScale checks the accepted range of time scales, ends included.
func TestCheckTimeScale(t *testing.T) {
	tt := []struct {
		scale float64
		ok    bool
	}{
		{runtime.MinTimeScale, true},
		{runtime.MaxTimeScale, true},
		{1, true},
		{0.5, true},
		{1000, true},
		{0, false},
		{-1, false},
		{1e-12, false},
		{math.NaN(), false},
		{math.Inf(1), false},
		{math.Inf(-1), false},
		{math.Nextafter(runtime.MaxTimeScale, math.Inf(1)), false},
		{math.Nextafter(runtime.MinTimeScale, 0), false},
	}
	for _, tc := range tt {
		if err := runtime.CheckTimeScale(tc.scale); (err == nil) != tc.ok {
			t.Errorf("CheckTimeScale(%v) = %v, want ok %v", tc.scale, err, tc.ok)
		}
	}
}

func TestManualClock(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := runtime.NewManualClock(start)
	fired := make(chan string, 2)
	c.AfterFunc(time.Second, func() { fired <- "a" })
	stop := c.AfterFunc(2*time.Second, func() { fired <- "b" })
	c.Advance(1500 * time.Millisecond)
	if got := <-fired; got != "a" {
		t.Errorf("fired %q, want a", got)
	}
	if !stop() || stop() {
		t.Error("stop should report true once, then false")
	}
	c.Advance(time.Hour)
	if got := c.Now(); !got.Equal(start.Add(time.Hour + 1500*time.Millisecond)) {
		t.Errorf("Now = %v", got)
	}
	select {
	case s := <-fired:
		t.Errorf("stopped timer %q fired", s)
	case <-time.After(20 * time.Millisecond):
	}
}
