package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/devicejs/devicejs/fleet"
	"github.com/devicejs/devicejs/report"
)

// workerNoticeFlag is the hidden flag that makes `devicejs fleet` the worker side of --workers.
const workerNoticeFlag = "worker-notice-fd"

// fleetMemory is the --max-memory of `devicejs fleet`: "auto" (the default) or a size.
type fleetMemory struct {
	size byteSize
	set  bool
}

func (m *fleetMemory) String() string {
	if !m.set {
		return "auto"
	}
	return m.size.String()
}

func (m *fleetMemory) Set(s string) error {
	if strings.EqualFold(strings.TrimSpace(s), "auto") {
		*m = fleetMemory{}
		return nil
	}
	if err := m.size.Set(s); err != nil {
		return fmt.Errorf("want auto or a size such as 512MiB, got %q", s)
	}
	m.set = true
	return nil
}

func (m *fleetMemory) Type() string { return "size" }

// bytes is the budget in bytes for a fleet of n instances (auto: fleet.AutoMemory); 0 means
// none.
func (m *fleetMemory) bytes(n int) int64 {
	if m.set {
		return int64(m.size)
	}
	return fleet.AutoMemory(n)
}

// validateWorkers checks --workers against -n, --shard and --max-memory (usage errors).
func validateWorkers(opts *FleetOptions, sharded bool) error {
	switch w := opts.Workers; {
	case w == 0:
		return nil
	case w < 0:
		return usageError(fmt.Errorf("--workers must not be negative, got %d", w))
	case w > opts.N:
		return usageError(fmt.Errorf("--workers %d is more than the %d instances", w, opts.N))
	case sharded:
		return usageError(errors.New("--workers and --shard cannot be combined: the workers are the shards"))
	case opts.NoticeFD != 0:
		return usageError(errors.New("--workers cannot be given to a worker"))
	case opts.Reporting.UI != "":
		return usageError(errors.New("--ui cannot be combined with --workers yet (--report can)"))
	}
	if b := opts.MaxMemory.bytes(opts.N); b > 0 {
		if share, _ := fleet.WorkerMemory(b, opts.Workers); share < fleet.MinWorkerMemory {
			return usageError(fmt.Errorf("--max-memory %s leaves %s per worker; give each of the %d workers at least %s",
				opts.MaxMemory.String(), mibString(share), opts.Workers, mibString(fleet.MinWorkerMemory)))
		}
	}
	return nil
}

func mibString(n int64) string { return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + "MiB" }

// endReason names the Ended reason of an instance stopped with cause.
func endReason(cause error) string {
	switch {
	case errors.Is(cause, errTimeout):
		return fleet.ReasonTimeout
	case errors.Is(cause, errInterrupted):
		return fleet.ReasonInterrupted
	case errors.Is(cause, errTerminated):
		return fleet.ReasonTerminated
	case errors.Is(cause, fleet.ErrMemoryBudget):
		return fleet.ReasonMemory
	}
	return ""
}

// causeExitCode is the exit code of a fleet stopped with cause (nil: not stopped).
func causeExitCode(cause error) ExitCode {
	switch {
	case cause == nil:
		return ExitOK
	case errors.Is(cause, errTimeout):
		return ExitTimeout
	case errors.Is(cause, errInterrupted):
		return ExitInterrupted
	case errors.Is(cause, errTerminated):
		return ExitTerminated
	}
	return ExitScriptError
}

// fleetExit maps a fleet's summary and the cause that stopped it to the command's error: exit
// 1 when an instance ended with a script error, at the memory budget or in a crashed worker,
// else the cause's code.
func fleetExit(sum fleet.Summary, cause error) error {
	scriptErrors, memory, crashed := sum.Failures()
	if scriptErrors > 0 {
		// The summary gives the first error, with its position.
		return withExitCode(ExitScriptError, fmt.Errorf("%d of %d instances ended with a script error", scriptErrors, sum.Instances))
	}
	if memory+crashed > 0 {
		var parts []string
		if memory > 0 {
			parts = append(parts, fmt.Sprintf("%d of %d instances ended at the memory budget (--max-memory)", memory, sum.Instances))
		}
		if crashed > 0 {
			parts = append(parts, fmt.Sprintf("%d of %d instances ended in a crashed worker", crashed, sum.Instances))
		}
		return withExitCode(ExitScriptError, errors.New(strings.Join(parts, "; ")))
	}
	if code := causeExitCode(cause); code != ExitOK {
		return withExitCode(code, cause)
	}
	return nil
}

// quietWorker keeps the exit code of err but not its message when the fleet is a worker of
// --workers: the supervisor's summary says what happened.
func quietWorker(opts *FleetOptions, err error) error {
	if err == nil || opts.NoticeFD == 0 {
		return err
	}
	return withExitCode(exitCodeOf(err), errors.New(""))
}

// workerOnlyFlags are the flags the supervisor sets itself for each worker, not copied from
// its own command line.
var workerOnlyFlags = []string{"workers", "shard", "summary-json", "max-memory", "report", "ui", workerNoticeFlag,
	thresholdFlag} // the supervisor evaluates the thresholds on the merged summary

// workerArgs returns the command line of worker w of a `devicejs fleet --workers` run: the
// flags given to the supervisor, then its shard, its share of the memory budget
// (fleet.WorkerMemory), where to write its summary and the notice descriptor
// (fleet.WorkerNoticeFD, which fleet.Supervise opens).
func workerArgs(opts *FleetOptions, w int, budget int64, summaryPath string) []string {
	args := []string{"fleet"}
	opts.flags.Visit(func(f *pflag.Flag) {
		if slices.Contains(workerOnlyFlags, f.Name) {
			return
		}
		// A repeatable flag (--define) once per value: its String() is the list as
		// "[a,b]", which the worker took for one value ("[IDX=7]": every worker failed).
		if sv, ok := f.Value.(pflag.SliceValue); ok {
			for _, v := range sv.GetSlice() {
				args = append(args, "--"+f.Name+"="+v)
			}
			return
		}
		args = append(args, "--"+f.Name+"="+f.Value.String())
	})
	if opts.Reporting.Report != "" { // the workers record what the supervisor's report draws
		args = append(args, "--"+reportSeriesFlag)
	}
	share, _ := fleet.WorkerMemory(budget, opts.Workers)
	return append(args, "--shard", fmt.Sprintf("%d/%d", w, opts.Workers),
		"--max-memory", strconv.FormatInt(share, 10),
		"--summary-json", summaryPath, "--"+workerNoticeFlag, strconv.Itoa(fleet.WorkerNoticeFD), "--", opts.ScriptPath)
}

// fleetSupervise runs the fleet as opts.Workers worker processes (fleet.Supervise) and maps
// the merged summary to the exit code. A worker whose resident memory passes twice its share
// of --max-memory (fleet.WorkerMemory) is killed; its instances are reported ended at the
// memory budget.
func fleetSupervise(parent context.Context, opts *FleetOptions) error {
	exe, err := os.Executable()
	if err != nil {
		return withExitCode(ExitScriptError, fmt.Errorf("--workers: %w", err))
	}
	sumOut, err := newSummaryOut(opts)
	if err != nil {
		return err
	}
	rep, err := startReporting(opts.IO, opts.Reporting, fmt.Sprintf("devicejs fleet -n %d --workers %d %s", opts.N, opts.Workers, filepath.Base(opts.ScriptPath)), nil)
	if err != nil {
		return err
	}
	budget := opts.MaxMemory.bytes(opts.N)
	_, maxRSS := fleet.WorkerMemory(budget, opts.Workers)
	ctx, release := boundRun(parent, opts.Timeout)
	defer release()
	// A second signal kills the workers at once; the process exits with that signal's code
	// once they are gone and the summary is written (forceExit bounds the wait).
	kill, finished := make(chan struct{}), make(chan struct{})
	var forced atomic.Int32
	defer close(finished)
	defer onSecondSignal(func(code ExitCode) {
		forced.Store(int32(code))
		close(kill)
		<-finished
	})()

	sum, err := fleet.Supervise(ctx, fleet.SuperviseConfig{
		N: opts.N, Workers: opts.Workers,
		Command: func(w int, summaryPath string) *exec.Cmd {
			cmd := exec.Command(exe, workerArgs(opts, w, budget, summaryPath)...)
			cmd.Stdout, cmd.Stderr = opts.IO.Out, opts.IO.ErrOut
			return cmd
		},
		MaxRSS: maxRSS,
		// Workers run the same --timeout themselves (exit 3); a signal is forwarded as is.
		Stop: func(cause error) os.Signal {
			switch {
			case errors.Is(cause, errInterrupted):
				return os.Interrupt
			case errors.Is(cause, errTerminated):
				return syscall.SIGTERM
			}
			return nil
		},
		Grace:      stopGrace + 3*time.Second,
		Kill:       kill,
		KillReason: func() string { return endReason(context.Cause(ctx)) },
	})
	if err != nil {
		return withExitCode(ExitScriptError, err)
	}
	werr := sumOut.write(sum)
	if rep.enabled() {
		rep.finish(report.Data{Fleet: report.NewFleet(sum)})
	}
	if werr != nil {
		return werr
	}
	if code := ExitCode(forced.Load()); code != 0 {
		return withExitCode(code, context.Cause(ctx))
	}
	return thresholdExit(opts.thresholds, sum, fleetExit(sum, context.Cause(ctx)))
}
