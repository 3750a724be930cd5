//go:build !linux

package childproc

import "os/exec"

// ownGroup does nothing outside Linux: the child shares the parent's process group, is
// killed alone and outlives a parent that dies first.
func ownGroup(*exec.Cmd) {}

// KillGroup kills the child (SIGKILL or its equivalent).
func KillGroup(cmd *exec.Cmd) {
	if cmd.Process != nil {
		_ = cmd.Process.Kill()
	}
}
