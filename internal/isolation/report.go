package isolation

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"unicode/utf8"

	"github.com/devicejs/devicejs/internal/exitcode"
	"github.com/devicejs/devicejs/runtime"
)

// ReportVersion is the version of the result line (Report.Version).
const ReportVersion = 1

// MaxReportLine bounds the result line the parent reads (newline included): a longer line,
// or one that never ends, is no result (the child is then judged by its exit status alone).
const MaxReportLine = 1 << 20

// Report is the result line the child (`devicejs run --result-fd N`) writes on descriptor N
// when its run ends, one JSON object and a newline:
//
//	{"v":1,"exit":1,"ending":"script failed","error":{"kind":"exception","message":"Error: boom",
//	 "file":"a.js","line":2,"column":9,"stack":"\tat f (a.js:2:9(3))"},"stats":{"published":3,...}}
//
// Exit is the status the child is about to exit with; the parent uses the line only when it
// equals the status it sees. Ending is the name of the run's devicejs.Ending ("finished",
// "for elapsed", "canceled", "script failed", "not started").
type Report struct {
	Version int          `json:"v"`
	Exit    int          `json:"exit"`
	Ending  string       `json:"ending"`
	Error   *ReportError `json:"error,omitempty"`
	Stats   Stats        `json:"stats"`
}

// ReportError is a *runtime.ScriptError in the result line. Kind is runtime.ErrorKind's
// String(); MemoryBudget says that Err was runtime.ErrMemoryBudget (no other Go error
// crosses).
type ReportError struct {
	Kind         string `json:"kind"`
	Message      string `json:"message"`
	Name         string `json:"name,omitempty"`
	File         string `json:"file,omitempty"`
	Line         int    `json:"line,omitempty"`
	Column       int    `json:"column,omitempty"`
	Stack        string `json:"stack,omitempty"`
	GoStack      string `json:"go_stack,omitempty"`
	MemoryBudget bool   `json:"memory_budget,omitempty"`
}

// endingNames are the Ending values' names in the result line.
var endingNames = map[string]Ending{
	"not started": NotStarted, "finished": Finished, "for elapsed": ForElapsed,
	"canceled": Canceled, "script failed": ScriptFailed,
}

// kinds are the runtime.ErrorKind values a ReportError may carry.
var kinds = map[string]runtime.ErrorKind{
	runtime.KindException.String(): runtime.KindException, runtime.KindSyntax.String(): runtime.KindSyntax,
	runtime.KindPanic.String(): runtime.KindPanic, runtime.KindLimit.String(): runtime.KindLimit,
}

// NewReport is the result line of a run that ended with ending (a devicejs.Ending's String())
// and, for ScriptFailed, se; the process exits with code.
func NewReport(code exitcode.Code, ending string, se *runtime.ScriptError, stats Stats) Report {
	r := Report{Version: ReportVersion, Exit: int(code), Ending: ending, Stats: stats}
	if se != nil {
		r.Error = &ReportError{Kind: se.Kind.String(), Message: se.Message, Name: se.Name, File: se.File,
			Line: se.Line, Column: se.Column, Stack: se.Stack, GoStack: se.GoStack,
			MemoryBudget: errors.Is(se, runtime.ErrMemoryBudget)}
	}
	return r
}

// WriteReport writes r as one line to w, in one Write. A report that would not fit in
// MaxReportLine (the script controls its error's message and name) has its stacks dropped,
// then its name and its message cut, so that it does.
func WriteReport(w io.Writer, r Report) error {
	b, err := json.Marshal(r)
	for cut := 0; err == nil && len(b)+1 > MaxReportLine && r.Error != nil && cut < 4; cut++ {
		e := *r.Error
		r.Error = &e
		over := len(b) + 1 - MaxReportLine
		switch cut {
		case 0:
			e.Stack, e.GoStack = "", ""
		case 1:
			e.Name = truncate(e.Name, 1024)
		default: // each byte cut shortens the JSON by at least one byte
			e.Message = truncate(e.Message, len(e.Message)-over-len("...")) + "..."
		}
		b, err = json.Marshal(r)
	}
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// truncate cuts s to at most n bytes on a rune boundary.
func truncate(s string, n int) string {
	if n <= 0 {
		return ""
	}
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// ReadReport reads the result line from r: the first line, at most MaxReportLine bytes, which
// must end with a newline and decode as a valid Report. Whatever follows is read and dropped
// until r ends (so that a child writing more never blocks on a full pipe). ok is false when
// there is no valid line; err says why (nil when r ended with nothing written).
func ReadReport(r io.Reader) (rep Report, ok bool, err error) {
	defer func() { _, _ = io.Copy(io.Discard, r) }()
	br := bufio.NewReaderSize(&io.LimitedReader{R: r, N: MaxReportLine}, 64<<10)
	var line []byte
	var rerr error
	for {
		var chunk []byte
		chunk, rerr = br.ReadSlice('\n')
		line = append(line, chunk...)
		if !errors.Is(rerr, bufio.ErrBufferFull) {
			break
		}
	}
	switch {
	case rerr == nil:
	case len(line) == 0 && errors.Is(rerr, io.EOF):
		return Report{}, false, nil
	case len(line) >= MaxReportLine:
		return Report{}, false, fmt.Errorf("the result line is longer than %d bytes", MaxReportLine)
	case errors.Is(rerr, io.EOF):
		return Report{}, false, errors.New("the result line does not end with a newline")
	default:
		return Report{}, false, rerr
	}
	if err := json.Unmarshal(line, &rep); err != nil {
		return Report{}, false, fmt.Errorf("the result line: %w", err)
	}
	if err := rep.validate(); err != nil {
		return Report{}, false, fmt.Errorf("the result line: %w", err)
	}
	return rep, true, nil
}

// validate checks what json.Unmarshal cannot: the version, the names and the ranges.
func (r Report) validate() error {
	if r.Version != ReportVersion {
		return fmt.Errorf("version %d, want %d", r.Version, ReportVersion)
	}
	if r.Exit < 0 || r.Exit > 255 {
		return fmt.Errorf("exit status %d out of range", r.Exit)
	}
	if _, ok := endingNames[r.Ending]; !ok {
		return fmt.Errorf("unknown ending %q", r.Ending)
	}
	if e := r.Error; e != nil {
		if _, ok := kinds[e.Kind]; !ok {
			return fmt.Errorf("unknown error kind %q", e.Kind)
		}
		if e.Line < 0 || e.Column < 0 || e.Line > math.MaxInt32 || e.Column > math.MaxInt32 {
			return fmt.Errorf("position %d:%d out of range", e.Line, e.Column)
		}
	}
	return nil
}

// scriptError is the *runtime.ScriptError the line carries, nil if none.
func (r Report) scriptError() *runtime.ScriptError {
	e := r.Error
	if e == nil {
		return nil
	}
	se := &runtime.ScriptError{Kind: kinds[e.Kind], Message: e.Message, Name: e.Name, File: e.File,
		Line: e.Line, Column: e.Column, Stack: e.Stack, GoStack: e.GoStack}
	if e.MemoryBudget {
		se.Err = runtime.ErrMemoryBudget
	}
	return se
}
