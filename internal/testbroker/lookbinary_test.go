package testbroker

import (
	"fmt"
	"os/exec"
	"runtime"
	"strings"
	"testing"
)

// fakeTB records how a helper ended the test.
type fakeTB struct {
	testing.TB
	skipped, failed bool
	msg             string
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Skip(args ...any) {
	f.skipped, f.msg = true, fmt.Sprint(args...)
	runtime.Goexit()
}
func (f *fakeTB) Fatal(args ...any) {
	f.failed, f.msg = true, fmt.Sprint(args...)
	runtime.Goexit()
}

func runFake(f func(tb testing.TB)) *fakeTB {
	tb := &fakeTB{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(tb)
	}()
	<-done
	return tb
}

func TestLookBinaryMissing(t *testing.T) {
	tt := []struct {
		ci          string
		skip, fatal bool
	}{
		{"", true, false},
		{"true", false, true},
		{"1", false, true},
	}
	for _, tc := range tt {
		t.Run("CI="+tc.ci, func(t *testing.T) {
			t.Setenv("CI", tc.ci)
			tb := runFake(func(tb testing.TB) { lookBinary(tb, "devicejs-no-such-binary") })
			if tb.skipped != tc.skip || tb.failed != tc.fatal {
				t.Fatalf("skipped=%v failed=%v, want %v %v", tb.skipped, tb.failed, tc.skip, tc.fatal)
			}
			if !strings.Contains(tb.msg, "devicejs-no-such-binary not found") {
				t.Fatalf("message %q", tb.msg)
			}
		})
	}
}

func TestLookBinaryFound(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	tb := runFake(func(tb testing.TB) {
		if p := lookBinary(tb, "sh"); p == "" {
			tb.Fatal("empty path")
		}
	})
	if tb.skipped || tb.failed {
		t.Fatal(tb.msg)
	}
}

// TestPasswordLineFormat checks the shape of a $7$ line; TestPassword checks
// that mosquitto accepts it.
func TestPasswordLineFormat(t *testing.T) {
	line, err := passwordLine("alice", "secret")
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(line, "$")
	if len(parts) != 5 || parts[0] != "alice:" || parts[1] != "7" || parts[2] != "101" {
		t.Fatalf("line %q", line)
	}
}
