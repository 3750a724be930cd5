package cli_test

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/devicejs/devicejs/fleet"
	"github.com/devicejs/devicejs/internal/syncbuf"
)

// stuckSort sorts a million numbers as strings: one built-in call of many seconds that no
// interrupt reaches.
const stuckSort = `var a = []; for (var i = 0; i < 1e6; i++) a.push(Math.random());
print('SORTING'); a.sort(); print('sorted');`

// TestFleetSecondSignal (issue 17 finding 10): a second signal to a fleet whose instances are
// stuck in a long built-in exits at once with that signal's code (143 for SIGTERM; it was 130
// for both), after writing --summary-json whole (it was left empty) with every instance listed
// as ended by the first signal, and with no worker left running (they outlived the parent).
func TestFleetSecondSignal(t *testing.T) {
	tt := []struct {
		name          string
		workers       int
		first, second syscall.Signal
		code          int
		reason        string
	}{
		{"one process, SIGTERM twice", 0, syscall.SIGTERM, syscall.SIGTERM, 143, fleet.ReasonTerminated},
		{"one process, SIGINT twice", 0, syscall.SIGINT, syscall.SIGINT, 130, fleet.ReasonInterrupted},
		{"2 workers, SIGTERM twice", 2, syscall.SIGTERM, syscall.SIGTERM, 143, fleet.ReasonTerminated},
		{"2 workers, SIGINT twice", 2, syscall.SIGINT, syscall.SIGINT, 130, fleet.ReasonInterrupted},
		{"2 workers, SIGINT then SIGTERM", 2, syscall.SIGINT, syscall.SIGTERM, 143, fleet.ReasonInterrupted},
	}
	for _, tc := range tt {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // its own embedded broker and process tree; together, the sorts only get slower
			dir := t.TempDir()
			p := script(t, "stuck.js", stuckSort)
			sumPath := filepath.Join(dir, "summary.json")
			ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, binary, "fleet", "-n", "2", "--workers", strconv.Itoa(tc.workers), "--broker", "embedded",
				"--max-memory", "2GiB", "--summary-json", sumPath, p)
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			var stderr syncbuf.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			sorting := make(chan struct{})
			go func() {
				sc, n := bufio.NewScanner(stdout), 0
				for sc.Scan() {
					if strings.HasSuffix(sc.Text(), "SORTING") {
						if n++; n == 2 {
							close(sorting)
						}
					}
				}
			}()
			select {
			case <-sorting:
			case <-time.After(90 * time.Second):
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatalf("the instances never began sorting: %s", stderr.String())
			}
			workers := childPIDs(cmd.Process.Pid)
			if tc.workers > 0 && len(workers) != tc.workers {
				t.Fatalf("%d worker processes, want %d", len(workers), tc.workers)
			}
			cmd.Process.Signal(tc.first)
			time.Sleep(300 * time.Millisecond)
			second := time.Now()
			cmd.Process.Signal(tc.second)
			err = cmd.Wait()
			took := time.Since(second)
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			}
			var alive []int
			for _, w := range workers {
				if _, err := os.Stat("/proc/" + strconv.Itoa(w)); err == nil {
					alive = append(alive, w)
				}
			}
			t.Logf("exit %d %v after the second signal; workers %v, alive after the exit %v", code, took.Round(time.Millisecond), workers, alive)
			if code != tc.code {
				t.Errorf("exit %d, want %d\nstderr: %s", code, tc.code, stderr.String())
			}
			if took > 6*time.Second {
				t.Errorf("exited %v after the second signal, want a few seconds at most", took)
			}
			if len(alive) > 0 {
				t.Errorf("workers %v still running after the supervisor exited", alive)
			}
			f, err := os.Open(sumPath)
			if err != nil {
				t.Fatalf("--summary-json: %v", err)
			}
			defer f.Close()
			s, err := fleet.ReadSummary(f)
			if err != nil {
				t.Fatalf("--summary-json is not a whole summary: %v", err)
			}
			n := 0
			for _, e := range s.Ended {
				if e.Reason == tc.reason {
					n++
				}
			}
			if s.Instances != 2 || len(s.Ended) != 2 || n != 2 {
				t.Errorf("summary: %d instances, ended %+v, want both %q", s.Instances, s.Ended, tc.reason)
			}
			if ents, _ := os.ReadDir(dir); len(ents) != 1 {
				t.Errorf("files left beside the summary: %v", ents)
			}
		})
	}
}

// TestFleetSummaryJSONTargets: --summary-json, now written to a temporary file and renamed,
// still writes through what is not a regular file (/dev/stdout) and through a symlink (the link
// stays), and refuses a directory or a missing folder before the run (exit 2).
func TestFleetSummaryJSONTargets(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	target := filepath.Join(dir, "target.json")
	link := filepath.Join(dir, "link.json")
	os.WriteFile(target, []byte("old"), 0o644)
	os.Symlink(target, link)
	run := func(path string) result {
		return runBinary(t, "fleet", "-n", "1", "--broker", "embedded", "--for", "1s", "--quiet", "--summary-json", path, sample5)
	}
	if r := run("/dev/stdout"); r.code != 0 || !strings.Contains(r.stdout, `"fleet_size": 1`) {
		t.Errorf("/dev/stdout: exit %d, stdout %q", r.code, r.stdout)
	}
	if r := run(link); r.code != 0 {
		t.Errorf("symlink: exit %d: %s", r.code, r.stderr)
	}
	if st, err := os.Lstat(link); err != nil || st.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the symlink was replaced: %v %v", st, err)
	}
	if f, err := os.Open(target); err != nil {
		t.Error(err)
	} else if _, err := fleet.ReadSummary(f); err != nil {
		t.Errorf("the link's target: %v", err)
	} else {
		f.Close()
	}
	for _, bad := range []string{dir, filepath.Join(dir, "no", "such", "s.json")} {
		if r := run(bad); r.code != 2 {
			t.Errorf("%s: exit %d, want 2: %s", bad, r.code, r.stderr)
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 2 {
		t.Errorf("files left: %v", ents)
	}
}
