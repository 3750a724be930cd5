package childproc

import (
	"context"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestStartPipesAndExit: the child writes on its extra descriptors 3 and 4, the parent reads
// them to EOF; ExitStatus reads the status and the signal.
func TestStartPipesAndExit(t *testing.T) {
	cmd := exec.Command("/bin/sh", "-c", "echo three >&3; echo four >&4; exit 7")
	reads, err := Start(cmd, 2)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"three\n", "four\n"} {
		b, err := io.ReadAll(reads[i])
		if err != nil || string(b) != want {
			t.Errorf("pipe %d: %q, %v", i, b, err)
		}
		reads[i].Close()
	}
	killed, err := Wait(context.Background(), cmd)
	if code, sig, ok := ExitStatus(err); killed || !ok || code != 7 || sig != "" {
		t.Errorf("killed %v, status %d %q %v", killed, code, sig, ok)
	}
	if code, sig, ok := ExitStatus(nil); code != 0 || sig != "" || !ok {
		t.Errorf("ExitStatus(nil) = %d %q %v", code, sig, ok)
	}
	if code, _, ok := ExitStatus(exec.ErrWaitDelay); code != 0 || !ok {
		t.Errorf("ExitStatus(ErrWaitDelay) = %d %v", code, ok)
	}
	if _, _, ok := ExitStatus(io.ErrUnexpectedEOF); ok {
		t.Error("an I/O error read as an exit")
	}
	if _, err := Start(&exec.Cmd{Path: "/bin/true", ExtraFiles: []*os.File{os.Stdin}}, 1); err == nil {
		t.Error("Start accepted ExtraFiles set by the caller")
	}
	if _, err := Start(exec.Command("/nonexistent/child"), 2); err == nil {
		t.Error("a missing binary started")
	}
}

// TestWaitKillsTheGroup: when the context ends, the child and what it started (its process
// group) are killed, and Wait returns only after the child was reaped.
func TestWaitKillsTheGroup(t *testing.T) {
	cmd := exec.Command("/bin/sh", "-c", "sleep 60 3>&- & echo $! >&3; exec 3>&-; wait")
	reads, err := Start(cmd, 1)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(reads[0])
	reads[0].Close()
	grandchild, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("grandchild pid %q", b)
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	killed, err := Wait(ctx, cmd)
	if _, sig, _ := ExitStatus(err); !killed || sig != "killed" {
		t.Errorf("killed %v, signal %q (err %v)", killed, sig, err)
	}
	// The grandchild got SIGKILL too; it is reaped by init, so poll (bounded) until it is gone.
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if err := syscall.Kill(grandchild, 0); err != nil {
			break
		}
		if st, _ := os.ReadFile("/proc/" + strconv.Itoa(grandchild) + "/stat"); strings.Contains(string(st), ") Z ") {
			break // a zombie: dead, waiting for its reaper
		}
		if time.Now().After(deadline) {
			t.Fatalf("grandchild %d still alive", grandchild)
		}
	}
}

// TestAwaitReadersBound: a reader blocked on a pipe that a grandchild holds open is released
// after the bound by closing the pipe.
func TestAwaitReadersBound(t *testing.T) {
	cmd := exec.Command("/bin/sh", "-c", "sleep 30 & exit 0")
	reads, err := Start(cmd, 1)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); _, _ = io.Copy(io.Discard, reads[0]) }()
	if _, err := Wait(context.Background(), cmd); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	AwaitReaders(done, 100*time.Millisecond, reads...)
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("AwaitReaders took %v", took)
	}
}

// TestOpenFD: the child side accepts an open descriptor of 3 or more only.
func TestOpenFD(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	fd, err := syscall.Dup(int(w.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	f, err := OpenFD(fd, "w")
	if err != nil || f == nil {
		t.Fatalf("an open pipe: %v", err)
	}
	f.Close()
	for _, fd := range []int{-1, 0, 1, 2, 1 << 20} {
		if _, err := OpenFD(fd, "x"); err == nil {
			t.Errorf("OpenFD(%d) accepted", fd)
		}
	}
}
