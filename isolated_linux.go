package devicejs

import (
	"os/exec"
	"syscall"
)

// ownGroup starts the child in its own process group, so that killGroup reaches whatever it
// starts, and has the kernel kill it if the caller's thread that started it dies
// (Pdeathsig: the caller cannot leak it by crashing).
func ownGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// killGroup kills the child's process group (SIGKILL). Call it before the child is reaped
// (its pid, the group's id, cannot be reused until then).
func killGroup(cmd *exec.Cmd) {
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}
