package fleet

import (
	"os"
	"os/exec"
	"syscall"
)

// stopSignal is the signal Supervise forwards by default when its context ends.
var stopSignal os.Signal = syscall.SIGTERM

// ownProcessGroup puts a worker in its own process group, so that a Ctrl-C on the terminal
// reaches only the supervisor, which forwards it once (a worker that received it twice would
// exit at once), and has the kernel kill it if the supervisor dies first (Pdeathsig).
func ownProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
