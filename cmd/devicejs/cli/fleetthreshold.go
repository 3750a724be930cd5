package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/pflag"

	"github.com/devicejs/devicejs/fleet"
)

// thresholdFlag is --threshold of `devicejs fleet` and `devicejs fleet merge`.
const thresholdFlag = "threshold"

// addThresholdFlag adds --threshold (repeatable) to f.
func addThresholdFlag(f *pflag.FlagSet, texts *[]string) {
	f.StringArrayVar(texts, thresholdFlag, nil, "pass/fail criterion on the summary, METRIC OP VALUE, e.g. 'publish_p99<500ms', "+
		"'errors_rate<0.1%', 'connect_p99<2s' (repeatable); a crossed one exits 4 (docs/fleet.md)")
}

// parseThresholds reads the --threshold values: a malformed one is a usage error naming it.
func parseThresholds(texts []string) ([]fleet.Threshold, error) {
	ts, err := fleet.ParseThresholds(texts)
	if err != nil {
		return nil, usageError(fmt.Errorf("--%s: %w", thresholdFlag, err))
	}
	return ts, nil
}

// thresholdExit is the command's error for a fleet whose summary is sum and whose run ended
// with err (fleetExit): err when the run failed otherwise (its code takes precedence), else
// ExitThreshold when a threshold was crossed, naming them.
func thresholdExit(ts []fleet.Threshold, sum fleet.Summary, err error) error {
	if err != nil || len(ts) == 0 {
		return err
	}
	crossed := fleet.Crossed(fleet.EvaluateThresholds(ts, sum))
	if len(crossed) == 0 {
		return nil
	}
	names := make([]string, len(crossed))
	for i, r := range crossed {
		names[i] = r.String()
	}
	return withExitCode(ExitThreshold, fmt.Errorf("%d of %d thresholds crossed: %s", len(crossed), len(ts), strings.Join(names, "; ")))
}
