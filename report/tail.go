package report

import (
	"bytes"
	"io"
	"os"
	"sync"
)

// LiveTraceEvents bounds the events a live page is sent: the latest ones (older ones are
// counted in Trace.Skipped). The report file written at the end has them all.
const LiveTraceEvents = 20000

// TraceTail follows a --trace-json file while a run writes it, for the live view. Safe for
// concurrent use.
type TraceTail struct {
	path string

	mu      sync.Mutex
	off     int64
	partial []byte
	trace   Trace
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
			for line := range bytes.SplitSeq(b[:end], []byte{'\n'}) {
				if len(bytes.TrimSpace(line)) > 0 {
					tt.trace.add(line)
				}
			}
		}
		f.Close()
	}
	if n := len(tt.trace.Events) - LiveTraceEvents; n > 0 {
		tt.trace.Skipped += n
		tt.trace.Events = append([]map[string]any(nil), tt.trace.Events[n:]...)
	}
	return &Trace{Events: tt.trace.Events[:len(tt.trace.Events):len(tt.trace.Events)], Skipped: tt.trace.Skipped}
}
