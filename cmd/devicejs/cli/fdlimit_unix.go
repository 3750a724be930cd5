//go:build unix

package cli

import "syscall"

// fdLimit returns the process's open-file limit (Go raises the soft limit to the hard one at
// start-up), or 0 when unknown.
func fdLimit() uint64 {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		return 0
	}
	return r.Cur
}
