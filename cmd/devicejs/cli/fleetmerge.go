package cli

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/devicejs/devicejs/fleet"
)

// FleetMergeOptions are the inputs of `devicejs fleet merge`.
type FleetMergeOptions struct {
	IO          *IOStreams
	Files       []string // the shards' --summary-json files
	SummaryJSON string   // --summary-json: write the merged summary here
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
--summary-json.`,
		Example: `  $ devicejs fleet merge --summary-json fleet.json shard-0.json shard-1.json shard-2.json`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageError(fmt.Errorf("fleet merge takes one or more summary files"))
			}
			return nil
		},
		RunE: func(_ *cobra.Command, args []string) error {
			opts.Files = args
			if runF != nil {
				return runF(opts)
			}
			return fleetMergeRun(opts)
		},
	}
	cmd.Flags().StringVar(&opts.SummaryJSON, "summary-json", "", "write the merged summary as JSON to this file")
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
	m.WriteText(opts.IO.ErrOut)
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
	return nil
}
