//go:build !linux

package fleet

import (
	"os"
	"os/exec"
	"syscall"
)

// stopSignal is the signal Supervise forwards by default when its context ends.
var stopSignal os.Signal = syscall.SIGTERM

// ownProcessGroup does nothing outside Linux: workers share the supervisor's process group,
// and outlive a supervisor that dies first.
func ownProcessGroup(*exec.Cmd) {}
