package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/devicejs/devicejs/mqttcore"
	"github.com/devicejs/devicejs/trace"
)

// tracer writes the MQTT trace of a run (--trace to stderr, --trace-json to a file) in the
// format of package trace. Device-time offsets are measured from start, the device time at
// which the run began.
type tracer struct {
	start time.Time
	text  io.Writer // nil: no text trace
	file  *os.File  // nil: no JSON trace
	enc   *json.Encoder

	mu sync.Mutex
}

func newTracer(opts *RunOptions, start time.Time) (*tracer, error) {
	t := &tracer{start: start}
	if opts.Trace {
		t.text = opts.IO.ErrOut
	}
	if opts.TraceJSON != "" {
		f, err := os.Create(opts.TraceJSON)
		if err != nil {
			return nil, fmt.Errorf("--trace-json: %w", err)
		}
		t.file, t.enc = f, json.NewEncoder(f)
	}
	return t, nil
}

// trace returns the hook for devicejs.Config.Trace, or nil when nothing is traced.
func (t *tracer) trace() func(mqttcore.TraceEvent) {
	if t.text == nil && t.enc == nil {
		return nil
	}
	return t.write
}

// Close flushes and closes the JSON file.
func (t *tracer) Close() error {
	if t.file == nil {
		return nil
	}
	return t.file.Close()
}

func (t *tracer) write(e mqttcore.TraceEvent) {
	r := trace.FromEvent(e, t.start)
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.enc != nil {
		_ = t.enc.Encode(r)
	}
	if t.text != nil {
		fmt.Fprintln(t.text, r.Text())
	}
}
