// Package cli implements the devicejs command line: one file per command, each with its options
// struct, a NewCmdX constructor and an xRun function (the gh layout).
//
// Why one package of about 3k lines (over the 2.5k the codebase aims for): it has one command
// per file and eight commands (run, check, test, conformance, broker, fleet with its workers and
// merge, report, version), each with its flags, help text and output; the engines
// live elsewhere (the root package, devtest, fleet, report, internal/conformance,
// internal/isolation). cobra wires the commands through one root, so they share one package.
package cli

import (
	"context"
	"fmt"
	"os"
	goruntime "runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Main runs the devicejs command line with os.Args and returns the exit code.
func Main() ExitCode {
	singleDeviceProcs()
	ios := System()
	root := NewCmdRoot(ios)
	root.SetArgs(os.Args[1:])
	err := root.ExecuteContext(context.Background())
	code := exitCodeOf(err)
	if err != nil && err.Error() != "" {
		fmt.Fprintf(ios.ErrOut, "devicejs: %v\n", err)
		if code == ExitUsage {
			fmt.Fprintln(ios.ErrOut, "Run 'devicejs --help' for usage.")
		}
	}
	return code
}

// NewCmdRoot builds the root command with every subcommand.
func NewCmdRoot(ios *IOStreams) *cobra.Command {
	root := &cobra.Command{
		Use:   "devicejs <command> [flags]",
		Short: "Run IoT device scripts against real MQTT brokers",
		Long: `devicejs runs JavaScript device scripts written against a device firmware's
built-in mqtt object on an ordinary computer, unchanged, so they can be run and tested
against real brokers before they are flashed to a device.`,
		Example: `  $ devicejs run --broker embedded --time-scale 60 --for 60s sample5.js
  $ devicejs run --broker 127.0.0.1:1883 device.js
  $ devicejs broker --listen 127.0.0.1:1883`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(ios.Out)
	root.SetErr(ios.ErrOut)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError(err) })
	root.AddCommand(NewCmdRun(ios, nil))
	root.AddCommand(NewCmdVersion(ios))
	root.AddCommand(NewCmdBroker(ios, nil))
	root.AddCommand(NewCmdCheck(ios, nil))
	root.AddCommand(NewCmdFleet(ios, nil))
	root.AddCommand(NewCmdConformance(ios, nil))
	root.AddCommand(NewCmdTest(ios, nil))
	root.AddCommand(NewCmdReport(ios, nil))
	root.CompletionOptions.DisableDefaultCmd = true
	return root
}

// singleDeviceProcs tunes the Go runtime for `devicejs run`, one device per process, unless the
// environment says otherwise (GOMAXPROCS, GOGC):
//   - one P: a device is one JavaScript thread; on one P its loop and the MQTT connection's
//     goroutines hand work to each other without waking other OS threads (futex) or polling
//     from them (epoll), which was most of the per-message cost on a busy machine;
//   - GOGC 400: the heap of one device is a few MiB, so at the default 100 the collector runs
//     dozens of times a second under message load; 400 lets it grow to ~5× the live heap
//     (still capped by --max-memory, which sets the Go memory limit).
//
// See docs/performance.md. Other commands (fleet, broker) keep the defaults: every CPU, and
// memory per device matters there.
func singleDeviceProcs() {
	if len(os.Args) < 2 || os.Args[1] != "run" {
		return
	}
	if os.Getenv("GOMAXPROCS") == "" {
		goruntime.GOMAXPROCS(1)
	}
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
}
