// Package childproc starts and ends the child processes of devicejs, written once for the two
// parents that have them: internal/isolation (RunIsolated's `devicejs run` child) and
// fleet.Supervise (the `devicejs fleet --workers` workers). A child gets its own process
// group and, on Linux, SIGKILL when the thread that started it dies (Pdeathsig), so that the
// parent can kill whatever the child started and cannot leak it by crashing; the child
// reports to the parent on extra pipes (file descriptors 3, 4, ...), whose child side the
// CLI opens with OpenFD.
//
// Entry points: Start (parent side), Wait (wait, or kill the group when a context ends),
// KillGroup, ExitStatus, AwaitReaders, OpenFD (child side). No goroutine of its own outlives
// a call but Wait's, which ends when the child is reaped.
package childproc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// FirstExtraFD is the descriptor in the child of the first extra pipe Start opens
// (os/exec's ExtraFiles[0]); pipe i is FirstExtraFD+i.
const FirstExtraFD = 3

// Start starts cmd in its own process group (see the package comment) with extra pipes the
// child writes to as FirstExtraFD, FirstExtraFD+1, ...; it returns their read ends, which
// the caller reads and closes. cmd.ExtraFiles and cmd.SysProcAttr must be unset. The
// parent's copies of the write ends are closed once the child has started, so a read end
// reports EOF when the child (and whatever inherited the descriptor from it) has closed it.
func Start(cmd *exec.Cmd, extra int) (reads []*os.File, err error) {
	if cmd.ExtraFiles != nil || cmd.SysProcAttr != nil {
		return nil, errors.New("childproc: Start sets ExtraFiles and SysProcAttr itself")
	}
	writes := make([]*os.File, 0, extra)
	closeAll := func() {
		for _, f := range reads {
			f.Close()
		}
		for _, f := range writes {
			f.Close()
		}
	}
	for range extra {
		r, w, err := os.Pipe()
		if err != nil {
			closeAll()
			return nil, err
		}
		reads, writes = append(reads, r), append(writes, w)
	}
	if extra > 0 {
		cmd.ExtraFiles = writes
	}
	ownGroup(cmd)
	if err := cmd.Start(); err != nil {
		closeAll()
		return nil, err
	}
	for _, w := range writes { // the child holds its own copies
		w.Close()
	}
	return reads, nil
}

// Wait waits for cmd (started) to exit and returns cmd.Wait's error. If ctx ends first, the
// child's process group is killed (KillGroup) and Wait still waits for it: killed reports
// that. Wait never returns before the child has been reaped.
func Wait(ctx context.Context, cmd *exec.Cmd) (killed bool, err error) {
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err = <-exited:
		return false, err
	case <-ctx.Done():
		KillGroup(cmd)
		return true, <-exited
	}
}

// ExitStatus reads Wait's error: the exit status (0 for a nil err, and for
// exec.ErrWaitDelay: the child exited 0 but something it started held its output open) or -1
// and the signal's name when a signal killed the child. ok is false when err is not about the
// child's exit (e.g. an I/O error copying its output).
func ExitStatus(err error) (code int, signal string, ok bool) {
	if err == nil || errors.Is(err, exec.ErrWaitDelay) {
		return 0, "", true
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return 0, "", false
	}
	if ws, isWS := ee.Sys().(syscall.WaitStatus); isWS && ws.Signaled() {
		return -1, ws.Signal().String(), true
	}
	return ee.ExitCode(), "", true
}

// AwaitReaders waits until done is closed (the goroutines reading reads have returned); if
// that takes longer than bound, the read ends are closed, which makes a blocked read return,
// and it waits again. Call it after the child exited: a grandchild that inherited a write end
// cannot hold the parent longer than bound.
func AwaitReaders(done <-chan struct{}, bound time.Duration, reads ...*os.File) {
	t := time.NewTimer(bound)
	defer t.Stop()
	select {
	case <-done:
		return
	case <-t.C:
	}
	for _, r := range reads {
		r.Close()
	}
	<-done
}

// OpenFD opens the child side of a parent's pipe: descriptor fd, inherited from the parent,
// for writing. fd must be at least FirstExtraFD (0-2 are stdin, stdout and stderr) and open.
func OpenFD(fd int, name string) (*os.File, error) {
	if fd < FirstExtraFD {
		return nil, fmt.Errorf("file descriptor %d: want %d or more (an extra pipe from the parent)", fd, FirstExtraFD)
	}
	f := os.NewFile(uintptr(fd), name)
	if f == nil {
		return nil, fmt.Errorf("file descriptor %d is not valid", fd)
	}
	if _, err := f.Stat(); err != nil {
		return nil, fmt.Errorf("file descriptor %d is not open: %w", fd, err)
	}
	return f, nil
}
