package cli

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/devicejs/devicejs/runtime"
)

// defaultMaxMemory is the default of `devicejs run --max-memory`.
const defaultMaxMemory = 512 << 20

// stopGrace is how long a run may take to end after --for, --timeout, SIGINT or SIGTERM before the
// process exits anyway. JS is interrupted between instructions within milliseconds; only a
// long call inside goja's own Go code (a huge Array.prototype.join, say) can outlast it.
const stopGrace = 2 * time.Second

// byteSize is a pflag value for a size in bytes: a number with an optional unit (B, KiB, MiB,
// GiB, or K, M, G, KB, MB, GB, all binary), e.g. 512MiB; 0 means no limit.
type byteSize int64

func (b *byteSize) String() string {
	n := int64(*b)
	for _, u := range []struct {
		s string
		n int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n != 0 && n%u.n == 0 {
			return strconv.FormatInt(n/u.n, 10) + u.s
		}
	}
	return strconv.FormatInt(n, 10)
}

func (b *byteSize) Set(s string) error {
	t := strings.ToUpper(strings.TrimSpace(s))
	mult := int64(1)
	for _, u := range []struct {
		s string
		n int64
	}{{"KIB", 1 << 10}, {"MIB", 1 << 20}, {"GIB", 1 << 30}, {"KB", 1 << 10}, {"MB", 1 << 20}, {"GB", 1 << 30},
		{"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"B", 1}} {
		if strings.HasSuffix(t, u.s) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.s)), u.n
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return fmt.Errorf("want a size such as 512MiB or 0, got %q", s)
	}
	*b = byteSize(n * mult)
	return nil
}

func (b *byteSize) Type() string { return "size" }

// exitIfStuck exits the process with code when done is not closed within stopGrace after
// stop is. It returns at once; the watcher ends with done.
func exitIfStuck(ios *IOStreams, stop <-chan struct{}, done <-chan struct{}, code func() ExitCode) {
	exitIfStuckThen(ios, stop, done, code, nil)
}

// exitIfStuckThen is exitIfStuck that also calls before(code), when not nil, right before the
// exit (`devicejs test`'s --junit and --report of what ran).
func exitIfStuckThen(ios *IOStreams, stop <-chan struct{}, done <-chan struct{}, code func() ExitCode, before func(ExitCode)) {
	go func() {
		select {
		case <-stop:
		case <-done:
			return
		}
		t := time.NewTimer(stopGrace)
		defer t.Stop()
		select {
		case <-t.C:
			fmt.Fprintf(ios.ErrOut, "devicejs: the script did not stop within %v (stuck in a long built-in call); exiting\n", stopGrace)
			c := code()
			if before != nil {
				before(c)
			}
			os.Exit(int(c))
		case <-done:
		}
	}()
}

// exitAtMemoryBackstopThen makes the runtime's memory backstop end the process: when a run
// stopped at its --max-memory budget stays inside a long built-in while its memory keeps
// growing (or for 2 s), the budget error is printed as runResult prints it, before(se) is
// called when not nil (run's result line, test's --junit and --report) and the process exits
// 1 at once, without the run's shutdown. It returns a function that removes the backstop
// again.
func exitAtMemoryBackstopThen(ios *IOStreams, before func(*runtime.ScriptError)) (remove func()) {
	prev := runtime.SetMemoryBackstop(func(se *runtime.ScriptError) {
		fmt.Fprintln(ios.ErrOut, se.Error())
		fmt.Fprintln(ios.ErrOut, memoryBudgetHint)
		if before != nil {
			before(se)
		}
		os.Exit(int(ExitScriptError))
	})
	return func() { runtime.SetMemoryBackstop(prev) }
}

// memoryBudgetHint is the line printed after a memory budget error.
const memoryBudgetHint = "devicejs: the script was stopped at its memory budget; see --max-memory"
