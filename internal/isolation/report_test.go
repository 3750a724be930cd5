package isolation

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/devicejs/devicejs/internal/exitcode"
	"github.com/devicejs/devicejs/runtime"
)

// TestReportRoundTrip: what the child writes (NewReport, WriteReport) is what the parent
// reads (ReadReport), the script error and the Stats included.
func TestReportRoundTrip(t *testing.T) {
	se := &runtime.ScriptError{Kind: runtime.KindException, Message: "Error: boom \"quoted\"\n\x00 ü", Name: "Error",
		File: "a.js", Line: 2, Column: 9, Stack: "\tat f (a.js:2:9(3))\n\tat a.js:4:1(5)"}
	mem := &runtime.ScriptError{Kind: runtime.KindLimit, Message: "memory budget exceeded", File: "b.js", Err: runtime.ErrMemoryBudget}
	for _, tc := range []struct {
		name   string
		code   exitcode.Code
		ending string
		se     *runtime.ScriptError
		stats  Stats
	}{
		{"finished", exitcode.OK, "finished", nil, Stats{Published: 3, Received: 2, DiscardedForSize: 1, Reconnects: 4, DroppedForQueue: 5}},
		{"for elapsed", exitcode.OK, "for elapsed", nil, Stats{Published: 1<<64 - 1}},
		{"exception", exitcode.ScriptError, "script failed", se, Stats{Received: 7}},
		{"memory budget", exitcode.ScriptError, "script failed", mem, Stats{}},
		{"timeout", exitcode.Timeout, "canceled", nil, Stats{Published: 9}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := WriteReport(&b, NewReport(tc.code, tc.ending, tc.se, tc.stats)); err != nil {
				t.Fatal(err)
			}
			if n := strings.Count(b.String(), "\n"); n != 1 || !strings.HasSuffix(b.String(), "\n") {
				t.Fatalf("%d newlines in %q", n, b.String())
			}
			rep, ok, err := ReadReport(&b)
			if !ok || err != nil {
				t.Fatalf("ok %v, err %v", ok, err)
			}
			if rep.Exit != int(tc.code) || rep.Ending != tc.ending || rep.Stats != tc.stats {
				t.Errorf("got %+v", rep)
			}
			got := rep.scriptError()
			if (got == nil) != (tc.se == nil) {
				t.Fatalf("script error %#v, want %#v", got, tc.se)
			}
			if got != nil {
				if errors.Is(got, runtime.ErrMemoryBudget) != errors.Is(tc.se, runtime.ErrMemoryBudget) {
					t.Errorf("Is(ErrMemoryBudget) = %v", !errors.Is(tc.se, runtime.ErrMemoryBudget))
				}
				g, w := *got, *tc.se
				g.Err, w.Err = nil, nil
				if g != w {
					t.Errorf("got %#v\nwant %#v", g, w)
				}
			}
		})
	}
}

// TestWriteReportBounded: a script controls its error's message and name; a line that would
// pass MaxReportLine is cut (stacks first) so that the parent still reads it.
func TestWriteReportBounded(t *testing.T) {
	big := strings.Repeat("x", 2*MaxReportLine)
	ctl := strings.Repeat("\x01", MaxReportLine) // 6 bytes each in JSON
	for _, tc := range []struct {
		name string
		se   runtime.ScriptError
	}{
		{"huge stack", runtime.ScriptError{Kind: runtime.KindException, Message: "m", Stack: big}},
		{"huge message", runtime.ScriptError{Kind: runtime.KindException, Message: big, Stack: "\tat x"}},
		{"huge name", runtime.ScriptError{Kind: runtime.KindException, Message: "m", Name: big}},
		{"control characters", runtime.ScriptError{Kind: runtime.KindException, Message: ctl, GoStack: ctl}},
		{"multi-byte runes", runtime.ScriptError{Kind: runtime.KindException, Message: strings.Repeat("ü€😀", MaxReportLine/3)}},
		{"everything", runtime.ScriptError{Kind: runtime.KindPanic, Message: big, Name: big, Stack: big, GoStack: big}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			se := tc.se
			if err := WriteReport(&b, NewReport(exitcode.ScriptError, "script failed", &se, Stats{Published: 1})); err != nil {
				t.Fatal(err)
			}
			if b.Len() > MaxReportLine {
				t.Fatalf("line of %d bytes", b.Len())
			}
			rep, ok, err := ReadReport(&b)
			if !ok || err != nil || rep.Stats.Published != 1 || rep.Error == nil || rep.Error.Kind != tc.se.Kind.String() {
				t.Fatalf("ok %v, err %v, %+v", ok, err, rep.Error != nil)
			}
			if !strings.HasPrefix(tc.se.Message, strings.TrimSuffix(rep.Error.Message, "...")) {
				t.Errorf("the message is not a prefix of the original")
			}
		})
	}
}

// TestReadReportHostile: the parent reads what a child wrote on its result descriptor as
// hostile input (the child may be any binary, or a devicejs broken mid-write): no valid
// line is no result, never a panic, an unbounded allocation or a hang.
func TestReadReportHostile(t *testing.T) {
	valid := `{"v":1,"exit":0,"ending":"finished","stats":{"published":1}}`
	for _, tc := range []struct {
		name, in string
		ok       bool
	}{
		{"valid", valid + "\n", true},
		{"valid, then more lines", valid + "\n" + "garbage\n" + strings.Repeat("y", 3*MaxReportLine), true},
		{"nothing", "", false},
		{"an empty line", "\n", false},
		{"garbage", "not json\n", false},
		{"binary", "\x00\xff\xfe\x01\n", false},
		{"no newline", valid, false},
		{"cut mid-object", `{"v":1,"exit":0,"end`, false},
		{"over-long, no newline", strings.Repeat("a", 4*MaxReportLine), false},
		{"over-long JSON with a newline late", `{"v":1,"exit":0,"ending":"finished","pad":"` + strings.Repeat("a", MaxReportLine) + "\"}\n", false},
		{"deep nesting", strings.Repeat("[", MaxReportLine-1) + "\n", false},
		{"trailing data", valid + " {}\n", false},
		{"an array", "[1,2]\n", false},
		{"null", "null\n", false},
		{"wrong version", `{"v":2,"exit":0,"ending":"finished"}` + "\n", false},
		{"no version", `{"exit":0,"ending":"finished"}` + "\n", false},
		{"unknown ending", `{"v":1,"exit":0,"ending":"exploded"}` + "\n", false},
		{"exit out of range", `{"v":1,"exit":256,"ending":"finished"}` + "\n", false},
		{"negative exit", `{"v":1,"exit":-1,"ending":"finished"}` + "\n", false},
		{"huge exit", `{"v":1,"exit":1e300,"ending":"finished"}` + "\n", false},
		{"negative stat", `{"v":1,"exit":0,"ending":"finished","stats":{"published":-1}}` + "\n", false},
		{"stat past uint64", `{"v":1,"exit":0,"ending":"finished","stats":{"published":18446744073709551616}}` + "\n", false},
		{"fractional stat", `{"v":1,"exit":0,"ending":"finished","stats":{"published":1.5}}` + "\n", false},
		{"stats of the wrong type", `{"v":1,"exit":0,"ending":"finished","stats":"many"}` + "\n", false},
		{"unknown kind", `{"v":1,"exit":1,"ending":"script failed","error":{"kind":"meltdown","message":"x"}}` + "\n", false},
		{"negative line", `{"v":1,"exit":1,"ending":"script failed","error":{"kind":"exception","message":"x","line":-3}}` + "\n", false},
		{"error of the wrong type", `{"v":1,"exit":1,"ending":"script failed","error":"boom"}` + "\n", false},
		{"unknown fields are ignored", `{"v":1,"exit":0,"ending":"finished","future":{"a":[1]}}` + "\n", true},
		{"CRLF", valid + "\r\n", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := strings.NewReader(tc.in)
			rep, ok, err := ReadReport(r)
			if ok != tc.ok {
				t.Fatalf("ok %v, want %v (err %v, %+v)", ok, tc.ok, err, rep)
			}
			if !ok && tc.in != "" && err == nil {
				t.Error("no valid line, but no reason")
			}
			if r.Len() != 0 {
				t.Errorf("%d bytes left unread: the child would block on a full pipe", r.Len())
			}
		})
	}
}

// TestReadReportMemory: an over-long line costs the parent about the bound, not the input.
func TestReadReportMemory(t *testing.T) {
	ms := testing.Benchmark(func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			_, _, _ = ReadReport(io.LimitReader(zeros{}, 64*MaxReportLine))
		}
	})
	if per := ms.AllocedBytesPerOp(); per > 8*MaxReportLine {
		t.Errorf("reading 64 MiB without a newline allocated %d bytes", per)
	}
}

// zeros is an endless stream of 'a' bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'a'
	}
	return len(p), nil
}

// TestChildResult: the exit status decides the Ending; the line counts only when it names the
// same status.
func TestChildResult(t *testing.T) {
	se := &ReportError{Kind: "exception", Message: "Error: boom", File: "a.js", Line: 1, Column: 1}
	stats := Stats{Published: 2}
	line := func(exit int, ending string, e *ReportError) Report {
		return Report{Version: 1, Exit: exit, Ending: ending, Error: e, Stats: stats}
	}
	exit := func(code int) error {
		if code == 0 {
			return nil
		}
		return exitErr(t, code)
	}
	for _, tc := range []struct {
		name     string
		code     int
		rep      Report
		ok       bool
		cfg      Config
		wall     time.Duration
		want     Ending
		stats    bool
		childErr bool
	}{
		{"finished with a line", 0, line(0, "finished", nil), true, Config{}, 0, Finished, true, false},
		{"for elapsed with a line, early", 0, line(0, "for elapsed", nil), true, Config{For: time.Hour}, 0, ForElapsed, true, false},
		{"finished with a line, late", 0, line(0, "finished", nil), true, Config{For: time.Millisecond}, time.Second, Finished, true, false},
		{"exit 0, no line, long run", 0, Report{}, false, Config{For: time.Millisecond}, time.Second, ForElapsed, false, false},
		{"exit 0, no line", 0, Report{}, false, Config{}, 0, Finished, false, false},
		{"exit 0, a line for another status", 0, line(1, "script failed", se), true, Config{}, 0, Finished, false, false},
		{"script error with a line", 1, line(1, "script failed", se), true, Config{}, 0, ScriptFailed, true, false},
		{"exit 1, no line", 1, Report{}, false, Config{}, 0, NotStarted, false, true},
		{"exit 1, a line without an error", 1, line(1, "script failed", nil), true, Config{}, 0, NotStarted, false, true},
		{"exit 1, a line for exit 0", 1, line(0, "script failed", se), true, Config{}, 0, NotStarted, false, true},
		{"timeout with a line", 3, line(3, "canceled", nil), true, Config{}, 0, Canceled, true, false},
		{"timeout, no line", 3, Report{}, false, Config{}, 0, Canceled, false, false},
		{"usage error", 2, line(2, "not started", nil), true, Config{}, 0, NotStarted, false, true},
		{"interrupted", 130, line(130, "canceled", nil), true, Config{}, 0, NotStarted, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := childResult(exit(tc.code), tc.wall, "stderr text\n", tc.rep, tc.ok, tc.cfg)
			var ce *ChildExitError
			if tc.childErr {
				if !errors.As(err, &ce) || ce.Code != tc.code || ce.Stderr != "stderr text\n" {
					t.Fatalf("result %+v, err %v", res, err)
				}
				return
			}
			if err != nil || res.Ending != tc.want {
				t.Fatalf("result %+v, err %v, want %v", res, err, tc.want)
			}
			if (res.Stats == stats) != tc.stats {
				t.Errorf("stats %+v", res.Stats)
			}
			switch tc.want {
			case ScriptFailed:
				var got *runtime.ScriptError
				if !errors.As(res.Err, &got) || got.Message != "Error: boom" || got.File != "a.js" {
					t.Errorf("err %#v", res.Err)
				}
			case Canceled:
				if !errors.Is(res.Err, ErrTimeout) {
					t.Errorf("err %v", res.Err)
				}
			default:
				if res.Err != nil {
					t.Errorf("err %v", res.Err)
				}
			}
		})
	}
}

// TestScriptFileName: the script file is named after the name's base, never outside the
// temporary folder and never as a flag.
func TestScriptFileName(t *testing.T) {
	for name, want := range map[string]string{
		"sample5.js": "sample5.js", "dir/x.js": "x.js", "../../etc/passwd": "passwd", "": "script.js",
		"/": "script.js", ".": "script.js", "..": "script.js", "--help": "script.js", "a/-v": "script.js",
	} {
		if got := scriptFileName(name); got != want {
			t.Errorf("scriptFileName(%q) = %q, want %q", name, got, want)
		}
	}
}
