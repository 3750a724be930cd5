package devicejs

import (
	"io"

	"github.com/devicejs/devicejs/mqttcore"
	"github.com/devicejs/devicejs/trace"
)

// readTrace decodes the child's trace lines (`devicejs run --trace-json`, package trace) from
// r into events for f until r ends. A line that does not decode is skipped; a line longer
// than trace.MaxLine ends the reading (the rest is drained so that the child goes on).
func readTrace(r io.Reader, f func(mqttcore.TraceEvent)) {
	_ = trace.Read(r, func(rec trace.Record) { f(rec.Event()) })
}
