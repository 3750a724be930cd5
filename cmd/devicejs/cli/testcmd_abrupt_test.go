package cli_test

import (
	"bytes"
	"context"
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestTestJUnitAtAbruptExit: each abrupt ending of `devicejs test` (the memory backstop of a
// test stuck in one long built-in past --max-memory, a test stuck in a long built-in past
// --timeout, SIGTERM or SIGINT during a stuck test) still writes --junit and --report, of what
// was known then: well-formed JUnit XML with the earlier file and test passed, the stuck test
// failed with the reason, the tests after it not listed; the exit codes are unchanged and no
// temporary file is left beside the outputs.
func TestTestJUnitAtAbruptExit(t *testing.T) {
	const sortFile = "var b = 'abcdefgh'.repeat(1.5e6).split('');\ntest('first', function() { print('first ran'); });\n" +
		"test('stuck', function() { b.sort(); });\ntest('later', function() {});\n"
	const budgetFile = "test('first', function() { print('first ran'); });\n" +
		"test('stuck', function() { JSON.stringify(new Array(2**32-1)); });\ntest('later', function() {});\n"
	for _, tc := range []struct {
		name   string
		src    string
		args   []string
		sig    syscall.Signal
		code   int
		reason string // in the stuck test's failure
		// the process exited at the stuck rule (stderr); a signal may also come before the
		// stuck call, when the run ends normally (then the reason is the normal one)
		stuckMsg string
	}{
		{"memory backstop", budgetFile, []string{"--max-memory", "64MiB"}, 0, 1, "memory budget exceeded", "memory budget exceeded"},
		{"--timeout stuck", sortFile, []string{"--max-memory", "0", "--timeout", "1s"}, 0, 1,
			`test "stuck" did not stop within 3s after its timeout`, "did not stop within 3s after its timeout"},
		{"SIGTERM stuck", sortFile, []string{"--max-memory", "0"}, syscall.SIGTERM, 143, "the run was terminated (SIGTERM)", "did not stop within 2s"},
		{"SIGINT stuck", sortFile, []string{"--max-memory", "0"}, syscall.SIGINT, 130, "the run was interrupted (SIGINT)", "did not stop within 2s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // separate processes, mostly stuck
			dir := t.TempDir()
			for name, src := range map[string]string{"a.test.js": "test('a1', function() {});\n", "b.test.js": tc.src,
				"c.test.js": "test('c1', function() {});\n"} {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			junit, html := filepath.Join(dir, "out", "junit.xml"), filepath.Join(dir, "out", "report.html")
			if err := os.Mkdir(filepath.Dir(junit), 0o755); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			args := append([]string{"test", "--junit", junit, "--report", html}, tc.args...)
			cmd := exec.CommandContext(ctx, binary, append(args, dir)...)
			var out, errOut bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &errOut
			start := time.Now()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			if tc.sig != 0 {
				// The sort's array (12 million strings, about 850 MiB resident) is built at the
				// file's top level in about 2 s, and the sort takes about 7 s more (longer on a
				// loaded machine): the signal comes 1 s after the array is mostly built.
				for deadline := time.Now().Add(40 * time.Second); residentOf(cmd.Process.Pid) < 600<<20 && time.Now().Before(deadline); {
					time.Sleep(20 * time.Millisecond)
				}
				time.Sleep(time.Second)
				if err := cmd.Process.Signal(tc.sig); err != nil {
					t.Fatal(err)
				}
			}
			_ = cmd.Wait() // the exit status is checked below
			wall := time.Since(start)
			code := cmd.ProcessState.ExitCode()
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, out.String(), errOut.String())
			}
			stuck := strings.Contains(errOut.String(), tc.stuckMsg)
			if tc.sig == 0 && !stuck {
				t.Fatalf("stderr %q lacks %q", errOut.String(), tc.stuckMsg)
			}
			cases := readJUnitCases(t, junit)
			for _, n := range []string{"a1", "first"} {
				if c, ok := cases[n]; !ok || c.Failure != nil || c.Error != nil {
					t.Errorf("%s: %+v (present %v), want passed\n%v", n, c, ok, cases)
				}
			}
			for _, n := range []string{"later", "c1"} {
				if _, ok := cases[n]; ok {
					t.Errorf("%s is in the JUnit file, but never started", n)
				}
			}
			c, msg := cases["stuck"], ""
			switch {
			case c.Failure == nil:
				t.Errorf("stuck: %+v, want failed", c)
			case stuck && !strings.Contains(c.Failure.Message, tc.reason):
				t.Errorf("stuck: failure %q lacks %q", c.Failure.Message, tc.reason)
			default:
				msg = c.Failure.Message
			}
			if st, err := os.Stat(html); err != nil || st.Size() == 0 {
				t.Errorf("--report: %v", err)
			} else if b, _ := os.ReadFile(html); !bytes.Contains(b, []byte("stuck")) {
				t.Errorf("--report lacks the stuck test")
			}
			if ents, _ := os.ReadDir(filepath.Dir(junit)); len(ents) != 2 {
				var names []string
				for _, e := range ents {
					names = append(names, e.Name())
				}
				t.Errorf("output folder holds %v, want the two outputs only", names)
			}
			t.Logf("exit %d in %v (stuck rule: %v); stuck: %s", code, wall.Round(time.Millisecond), stuck, msg)
		})
	}
}

// junitCase is a testcase of a JUnit file.
type junitCase struct {
	Name    string `xml:"name,attr"`
	Failure *struct {
		Message string `xml:"message,attr"`
	} `xml:"failure"`
	Error *struct {
		Message string `xml:"message,attr"`
	} `xml:"error"`
}

// readJUnitCases parses the JUnit file at path (it must be well-formed) and returns its
// testcases by name.
func readJUnitCases(t *testing.T, path string) map[string]junitCase {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("--junit: %v", err)
	}
	var doc struct {
		XMLName xml.Name `xml:"testsuites"`
		Suites  []struct {
			Cases []junitCase `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("--junit is not well-formed: %v\n%s", err, b)
	}
	cases := map[string]junitCase{}
	for _, s := range doc.Suites {
		for _, c := range s.Cases {
			cases[c.Name] = c
		}
	}
	return cases
}
