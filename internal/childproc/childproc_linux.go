package childproc

import (
	"os/exec"
	"syscall"
)

// ownGroup starts the child in its own process group, so that KillGroup reaches whatever it
// starts and a Ctrl-C on the terminal reaches only the parent (which forwards it, once), and
// has the kernel kill it if the parent's thread that started it dies (Pdeathsig: the parent
// cannot leak it by crashing).
func ownGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// KillGroup kills cmd's process group (SIGKILL). Call it before the child is reaped (its pid,
// the group's id, cannot be reused until then).
func KillGroup(cmd *exec.Cmd) {
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}
