//go:build !linux

package devicejs

import "os/exec"

// ownGroup does nothing outside Linux: the child is killed alone.
func ownGroup(*exec.Cmd) {}

// killGroup kills the child (SIGKILL or its equivalent).
func killGroup(cmd *exec.Cmd) {
	if cmd.Process != nil {
		_ = cmd.Process.Kill()
	}
}
