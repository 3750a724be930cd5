package report

import (
	"bytes"
	"io"
	"os"
	"sync"
)

// LiveTraceEvents and LiveTraceBytes bound the events a live page is sent: the latest ones,
// at most LiveTraceEvents of them in at most LiveTraceBytes of trace lines (older ones are
// counted in Trace.Skipped). The report file written at the end has them all.
const (
	LiveTraceEvents = 20000
	LiveTraceBytes  = 4 << 20
)

// TraceTail follows a --trace-json file while a run writes it, for the live view. Safe for
// concurrent use.
type TraceTail struct {
	path string

	mu      sync.Mutex
	off     int64
	partial []byte
	trace   Trace
	sizes   []int // the line length of each event of trace
	bytes   int   // the sum of sizes
	long    bool  // partial is the start of a line over maxTraceLine, dropped
}

// NewTraceTail follows the trace file at path (which may not exist yet).
func NewTraceTail(path string) *TraceTail {
	return &TraceTail{path: path, trace: Trace{Events: []map[string]any{}}}
}

// Snapshot reads what was appended since the last call and returns the latest
// LiveTraceEvents events (Skipped counts unreadable lines and events left out).
func (tt *TraceTail) Snapshot() *Trace {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	if f, err := os.Open(tt.path); err == nil {
		if _, err := f.Seek(tt.off, io.SeekStart); err == nil {
			b, _ := io.ReadAll(io.LimitReader(f, 64<<20))
			tt.off += int64(len(b))
			b = append(tt.partial, b...)
			end := bytes.LastIndexByte(b, '\n') + 1
			tt.partial = append([]byte(nil), b[end:]...)
			long := tt.long
			if tt.long = len(tt.partial) > maxTraceLine; tt.long {
				tt.partial = tt.partial[:0] // kept out of memory; the line is counted when it ends
			} else if end == 0 {
				tt.long = long // still inside the long line
			}
			for line := range bytes.SplitSeq(b[:end], []byte{'\n'}) {
				if long || len(line) > maxTraceLine {
					long = false
					tt.trace.Skipped++
					continue
				}
				if len(bytes.TrimSpace(line)) > 0 && tt.trace.add(line) {
					tt.sizes = append(tt.sizes, len(line))
					tt.bytes += len(line)
				}
			}
		}
		f.Close()
	}
	n := 0
	for n < len(tt.sizes) && (len(tt.sizes)-n > LiveTraceEvents || tt.bytes > LiveTraceBytes) {
		tt.bytes -= tt.sizes[n]
		n++
	}
	if n > 0 {
		tt.trace.Skipped += n
		tt.trace.Events = append([]map[string]any(nil), tt.trace.Events[n:]...)
		tt.sizes = append([]int(nil), tt.sizes[n:]...)
	}
	return &Trace{Events: tt.trace.Events[:len(tt.trace.Events):len(tt.trace.Events)], Skipped: tt.trace.Skipped}
}
