package runtime

import (
	"math"
	"testing"
	"time"
)

// TestWallDurationSaturates checks that a long device duration at a small scale waits the
// longest time.Duration instead of wrapping around (and firing at once).
func TestWallDurationSaturates(t *testing.T) {
	tt := []struct {
		d     time.Duration
		scale float64
		want  time.Duration
	}{
		{20 * time.Second, 100, 200 * time.Millisecond},
		{time.Millisecond, MinTimeScale, time.Second},
		{time.Nanosecond, 3, time.Nanosecond}, // ceil
		{0, MinTimeScale, 0},
		{100 * 365 * 24 * time.Hour, MinTimeScale, math.MaxInt64}, // the longest JS timer
		{math.MaxInt64, MinTimeScale, math.MaxInt64},
		{math.MaxInt64, 1e-12, math.MaxInt64},
		{time.Second, 1e-12, math.MaxInt64},
		{time.Millisecond, 1e-12, time.Duration(1e18)}, // 31.7 years: large but exact
		{math.MaxInt64, MaxTimeScale, time.Duration(math.Ceil(float64(math.MaxInt64) / MaxTimeScale))},
	}
	for _, tc := range tt {
		if got := wallDuration(tc.d, tc.scale); got != tc.want {
			t.Errorf("wallDuration(%v, %g) = %v, want %v", tc.d, tc.scale, got, tc.want)
		}
	}
}

// TestDeviceTimeBeyondDuration checks device time past the 292 years a time.Duration holds:
// 3 hours of wall time at MaxTimeScale is 342 years, not a wrap-around into the past.
func TestDeviceTimeBeyondDuration(t *testing.T) {
	start := time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)
	tt := []struct {
		elapsed time.Duration
		scale   float64
	}{
		{time.Hour, 1000},
		{time.Hour, MaxTimeScale},           // 114 years
		{3 * time.Hour, MaxTimeScale},       // 342 years
		{1000 * time.Hour, MaxTimeScale},    // 114,000 years
		{100_000 * time.Hour, MaxTimeScale}, // 11 million years
	}
	prev := start
	for _, tc := range tt {
		got := deviceTime(start, tc.elapsed, tc.scale)
		years := tc.elapsed.Hours() * tc.scale / (365.2425 * 24)
		year := 2026 + int(years)
		if !got.After(prev) || got.Year() < year-1 || got.Year() > year+1 {
			t.Errorf("deviceTime(+%v at %g) = %v, want about the year %d, after %v", tc.elapsed, tc.scale, got, year, prev)
		}
		prev = got
	}
}
