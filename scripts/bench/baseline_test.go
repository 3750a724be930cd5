package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckBaseline: a figure more than 10 % over its baseline fails the bench, naming it;
// within 10 %, lower, or without a baseline, it passes.
func TestCheckBaseline(t *testing.T) {
	b := baseline{Figures: map[string]float64{"footprint.kb_per_device": 100, "startup.wall_ms": 50}}
	for _, tc := range []struct {
		got  map[string]float64
		fail string
	}{
		{got: map[string]float64{"footprint.kb_per_device": 110, "startup.wall_ms": 40}},
		{got: map[string]float64{"footprint.kb_per_device": 80}},
		{got: map[string]float64{"footprint.kb_per_device": 110.5}, fail: "footprint.kb_per_device 110.5 is 10 % over"},
		{got: map[string]float64{"startup.wall_ms": 60, "footprint.kb_per_device": 100}, fail: "startup.wall_ms"},
		{got: map[string]float64{"other.x": 1e9}},
	} {
		lines, err := checkBaseline(b, tc.got)
		if (err != nil) != (tc.fail != "") || err != nil && !strings.Contains(err.Error(), tc.fail) {
			t.Errorf("%v: err %v, want %q", tc.got, err, tc.fail)
		}
		if len(lines) != len(tc.got) {
			t.Errorf("%v: %d lines", tc.got, len(lines))
		}
	}
}

// TestBaselineRoundTrip: the file written by -update-baseline reads back, and the file in the
// repository holds both guarded figures.
func TestBaselineRoundTrip(t *testing.T) {
	p := filepath.Join(t.TempDir(), "b.json")
	want := map[string]float64{"footprint.kb_per_device": 123.4, "startup.wall_ms": 45.6}
	if err := writeBaseline(p, want, "test"); err != nil {
		t.Fatal(err)
	}
	b, err := readBaseline(p)
	if err != nil || b.Figures["footprint.kb_per_device"] != 123.4 || b.Note != "test" {
		t.Fatalf("read back %+v, %v", b, err)
	}
	repo, err := readBaseline(filepath.Join("..", "..", baselineFile))
	if err != nil {
		t.Fatal(err)
	}
	for w, m := range baselineMetrics {
		if repo.Figures[w+"."+m] <= 0 {
			t.Errorf("%s has no %s.%s", baselineFile, w, m)
		}
	}
}
