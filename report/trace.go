package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"github.com/devicejs/devicejs/trace"
)

// maxTraceLine bounds one JSON line of a trace (longer lines are counted as skipped); the same
// bound as package trace's reader. The report decodes lines into maps, not trace.Record, so that
// fields a newer devicejs adds are shown too.
const maxTraceLine = trace.MaxLine

// Trace is the trace of one run as the page draws it: the --trace-json records in file order,
// each kept whole (every field, known or not, is shown on hover), plus the number of lines that
// were not JSON objects.
type Trace struct {
	Events  []map[string]any `json:"events"`
	Skipped int              `json:"skipped"`
	// Tests are the tests of `devicejs test --report`, every test of every file in file order,
	// each named once: an event of test k carries "testIndex": k. A page with Tests or
	// TestFiles draws one section per test, on its own time axis, failed tests first. (Events
	// of earlier versions carry the name itself, "test" and "testStatus"; a page without Tests
	// draws them on one timeline, each test with its own lanes.)
	Tests []TestGroup `json:"tests,omitempty"`
	// TestFiles are the files of `devicejs test --report`, in the order they ran.
	TestFiles []TestFile `json:"testFiles,omitempty"`
}

// TestGroup is one test of a `devicejs test --report`: its name ("file.test.js: name"), its
// status (pass, fail, skip), the failure message or skip reason, and the device time it
// covered in milliseconds (its time axis runs from 0 to there, or to its last record).
type TestGroup struct {
	Name     string `json:"name"`
	Status   string `json:"status"`
	Message  string `json:"message,omitempty"`
	DeviceMs int64  `json:"deviceMs,omitempty"`
}

// TestFile is one file of a `devicejs test --report`: its path as given, and the error that
// failed it outside any test (a syntax error, say), if any.
type TestFile struct {
	Name  string `json:"name"`
	Error string `json:"error,omitempty"`
}

// ReadTrace reads --trace-json lines. It tolerates what earlier and later versions of the
// format may hold: unknown fields and kinds are kept as they are, blank lines are ignored, and
// lines that are not JSON objects (a truncated last line of a killed run, say) are counted in
// Skipped rather than failing the report. Only a read error is returned.
func ReadTrace(r io.Reader) (*Trace, error) {
	tr := &Trace{Events: []map[string]any{}}
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		line, err := readLine(br)
		if len(bytes.TrimSpace(line)) > 0 {
			tr.add(line)
		}
		if err == io.EOF {
			return tr, nil
		}
		if err != nil {
			return tr, fmt.Errorf("report: reading trace: %w", err)
		}
	}
}

// readLine returns the next line without its newline; a line longer than maxTraceLine is
// returned as a marker that add skips.
func readLine(br *bufio.Reader) ([]byte, error) {
	var buf []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if len(buf)+len(chunk) <= maxTraceLine {
			buf = append(buf, chunk...)
		} else {
			buf = []byte("\x00too long")
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		return bytes.TrimRight(buf, "\r\n"), err
	}
}

// add decodes one line into an event, or counts it as skipped, and reports whether it was an
// event. Numbers stay json.Number so that they are written back exactly as read.
func (tr *Trace) add(line []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	var ev map[string]any
	if err := dec.Decode(&ev); err != nil || ev == nil || dec.More() {
		tr.Skipped++
		return false
	}
	tr.Events = append(tr.Events, ev)
	return true
}
