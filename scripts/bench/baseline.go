package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
)

// baselineFile keeps devicejs's own figures of the footprint and startup workloads, so that a
// change that makes every device heavier or slower to start is seen the day it lands: the
// bench fails (exit 1, after writing its table) when a median grows more than
// baselineTolerance over the file's value. Refresh it with -update-baseline after a deliberate
// change, and say why in the commit.
const baselineFile = "scripts/bench/baseline.json"

// baselineTolerance is how much a guarded figure may grow over the baseline (10 %).
const baselineTolerance = 0.10

// baselineMetrics are the guarded figures: workload name -> metric (lower is better).
var baselineMetrics = map[string]string{"footprint": "kb_per_device", "startup": "wall_ms"}

// baseline is the file's content: "workload.metric" -> devicejs's median, and where it came from.
type baseline struct {
	Figures map[string]float64 `json:"figures"`
	Note    string             `json:"note"`
}

func readBaseline(path string) (baseline, error) {
	var b baseline
	raw, err := os.ReadFile(path)
	if err != nil {
		return b, err
	}
	if err := json.Unmarshal(raw, &b); err != nil {
		return b, fmt.Errorf("%s: %w", path, err)
	}
	return b, nil
}

// devicejsFigures are devicejs's medians of the guarded metrics measured in this run.
func devicejsFigures(res *results) map[string]float64 {
	out := map[string]float64{}
	for w, m := range baselineMetrics {
		if v, ok := res.median(w, "devicejs", m); ok {
			out[w+"."+m] = v
		}
	}
	return out
}

// checkBaseline compares this run's figures with the baseline: it returns the lines to print
// and an error naming every figure that grew more than baselineTolerance.
func checkBaseline(b baseline, got map[string]float64) ([]string, error) {
	keys := make([]string, 0, len(got))
	for k := range got {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var lines, over []string
	for _, k := range keys {
		want, ok := b.Figures[k]
		if !ok || want <= 0 {
			lines = append(lines, fmt.Sprintf("baseline: %s = %.1f (no baseline)", k, got[k]))
			continue
		}
		ratio := got[k] / want
		lines = append(lines, fmt.Sprintf("baseline: %s = %.1f, baseline %.1f (%+.1f %%)", k, got[k], want, (ratio-1)*100))
		if ratio > 1+baselineTolerance {
			over = append(over, fmt.Sprintf("%s %.1f is %.0f %% over the baseline %.1f", k, got[k], (ratio-1)*100, want))
		}
	}
	if len(over) > 0 {
		return lines, errors.New("regression: " + strings.Join(over, "; ") + " (" + baselineFile + ")")
	}
	return lines, nil
}

func writeBaseline(path string, got map[string]float64, note string) error {
	b, err := json.MarshalIndent(baseline{Figures: got, Note: note}, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
