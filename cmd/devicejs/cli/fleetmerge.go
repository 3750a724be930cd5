package cli

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/devicejs/devicejs/fleet"
)

// FleetMergeOptions are the inputs of `devicejs fleet merge`.
type FleetMergeOptions struct {
	IO          *IOStreams
	Files       []string // the shards' --summary-json files
	SummaryJSON string   // --summary-json: write the merged summary here
	// AllowPartial (--allow-partial) merges a set of shards with some missing; without it such a
	// set is refused (exit 2) and nothing is written.
	AllowPartial bool
	// Thresholds (--threshold) are evaluated on the merged summary: a crossed one exits
	// ExitThreshold (fleetthreshold.go).
	Thresholds []string
	thresholds []fleet.Threshold
}

// NewCmdFleetMerge builds `devicejs fleet merge`. runF replaces the merge in tests.
func NewCmdFleetMerge(ios *IOStreams, runF func(*FleetMergeOptions) error) *cobra.Command {
	opts := &FleetMergeOptions{IO: ios}
	cmd := &cobra.Command{
		Use:   "merge [flags] <summary.json>...",
		Short: "Combine the JSON summaries of a fleet's shards",
		Long: `Combine the --summary-json files of the shards of one fleet, which ran at the same time:
counts and resident memory add up, elapsed and all-connected times are the longest, rates are
the total counts over the longest elapsed time, and the connect latency percentiles are read
from the merged histograms. The merged summary is written to stderr, and as JSON to
--summary-json.

The files must cover every shard of the fleet ("i/n" for each i from 0 to n-1): a set with one
missing is refused with exit status 2 and a message naming the missing shards, and nothing is
written, unless --allow-partial is given (the summary then says which shards it lacks).

--threshold (as for 'devicejs fleet') is evaluated on the merged summary: a crossed one exits 4.`,
		Example: `  $ devicejs fleet merge --summary-json fleet.json shard-0.json shard-1.json shard-2.json`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageError(fmt.Errorf("fleet merge takes one or more summary files"))
			}
			return nil
		},
		RunE: func(_ *cobra.Command, args []string) error {
			opts.Files = args
			ts, err := parseThresholds(opts.Thresholds)
			if err != nil {
				return err
			}
			opts.thresholds = ts
			if runF != nil {
				return runF(opts)
			}
			return fleetMergeRun(opts)
		},
	}
	cmd.Flags().StringVar(&opts.SummaryJSON, "summary-json", "", "write the merged summary as JSON to this file")
	cmd.Flags().BoolVar(&opts.AllowPartial, "allow-partial", false, "merge even when some shards' summaries are missing")
	addThresholdFlag(cmd.Flags(), &opts.Thresholds)
	return cmd
}

func fleetMergeRun(opts *FleetMergeOptions) error {
	var parts []fleet.Summary
	for _, name := range opts.Files {
		f, err := os.Open(name)
		if err != nil {
			return usageError(err)
		}
		s, err := fleet.ReadSummary(f)
		f.Close()
		if err != nil {
			return usageError(fmt.Errorf("%s: %w", name, err))
		}
		parts = append(parts, s)
	}
	m, err := fleet.Merge(parts...)
	if err != nil {
		return usageError(err)
	}
	missing, err := m.MissingShards()
	if err != nil {
		return usageError(err)
	}
	if len(missing) > 0 && !opts.AllowPartial {
		return usageError(fmt.Errorf("fleet merge: %d of %d shards missing: %s (--allow-partial merges them anyway)",
			len(missing), len(missing)+len(m.Shards), strings.Join(missing, ", ")))
	}
	m.Thresholds = fleet.EvaluateThresholds(opts.thresholds, m)
	m.WriteText(opts.IO.ErrOut)
	if len(missing) > 0 {
		fmt.Fprintf(opts.IO.ErrOut, "partial: shards %s missing (--allow-partial)\n", strings.Join(missing, ", "))
	}
	if opts.SummaryJSON != "" {
		f, err := os.Create(opts.SummaryJSON)
		if err != nil {
			return usageError(fmt.Errorf("--summary-json: %w", err))
		}
		if err := m.WriteJSON(f); err != nil {
			f.Close()
			return withExitCode(ExitScriptError, err)
		}
		if err := f.Close(); err != nil {
			return withExitCode(ExitScriptError, err)
		}
	}
	return thresholdExit(opts.thresholds, m, nil)
}
