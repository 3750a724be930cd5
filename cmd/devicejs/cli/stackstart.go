package cli

import (
	"os"
	"strings"
	"syscall"
)

// stackStartSetting is the Go runtime setting `devicejs fleet` runs with: every new goroutine
// starts with Go's smallest stack (2 KiB) instead of the average of the stacks the last
// collection scanned. A fleet's connections start nine to eleven goroutines each (paho's, and
// the embedded broker's), mostly parked in shallow select loops for the whole run, while the
// average is pulled up by a few deep ones (goja's, the embedded broker's 16 KiB read loops):
// started at 4-8 KiB, such a goroutine never shrinks back, because the collector halves a stack
// only when under a quarter of it is in use. Measured 2026-12-06 (docs/performance.md, issue
// 20): 100,000 embedded devices peak at 9.92 GB instead of 10.18 GB, and connect faster.
//
// The setting is read only when a process starts (a //go:debug line refuses it), so the
// fleet re-executes itself once with it added to GODEBUG. A GODEBUG that already names
// adaptivestackstart (0 or 1) is the user's choice and is kept as it is.
const stackStartSetting = "adaptivestackstart=0"

// stackStartEnv is the environment to re-execute with, or nil when env needs no change.
func stackStartEnv(env []string) []string {
	out := make([]string, 0, len(env)+1)
	found := false
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "GODEBUG="); ok {
			for _, s := range strings.Split(v, ",") {
				if strings.HasPrefix(strings.TrimSpace(s), "adaptivestackstart=") {
					return nil
				}
			}
			found = true
			if v != "" {
				kv += ","
			}
			kv += stackStartSetting
		}
		out = append(out, kv)
	}
	if !found {
		out = append(out, "GODEBUG="+stackStartSetting)
	}
	return out
}

// reexecWithStackStart replaces the process with the same program, arguments and environment
// plus stackStartSetting (same pid, so signals, a parent's wait and inherited descriptors are
// unaffected). It returns only when no re-execution is needed or it failed; the fleet then runs
// with Go's default, which changes memory, not behaviour.
func reexecWithStackStart() {
	env := stackStartEnv(os.Environ())
	if env == nil {
		return
	}
	exe, err := os.Executable()
	if err != nil {
		return
	}
	_ = syscall.Exec(exe, os.Args, env)
}
