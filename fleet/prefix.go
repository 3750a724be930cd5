package fleet

import (
	"bytes"
	"io"
	"strconv"
	"sync"
)

// lockedWriter serializes the writes of all instances to one destination, a line at a time.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

// prefixWriter prefixes every line an instance prints with "[i] ". Partial lines are kept until
// their newline (or Flush), so the lines of different instances never interleave. One instance's
// print() calls come from its loop, one at a time; the mutex only guards Flush at the end.
type prefixWriter struct {
	mu     sync.Mutex
	out    *lockedWriter
	prefix []byte
	buf    []byte
}

func newPrefixWriter(out *lockedWriter, i int) *prefixWriter {
	return &prefixWriter{out: out, prefix: []byte("[" + strconv.Itoa(i) + "] ")}
}

// Write implements io.Writer.
func (p *prefixWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(b)
	for len(b) > 0 {
		nl := bytes.IndexByte(b, '\n')
		if nl < 0 {
			p.buf = append(p.buf, b...)
			break
		}
		line := b[:nl+1]
		b = b[nl+1:]
		if err := p.emit(line); err != nil {
			return n - len(b), err
		}
	}
	return n, nil
}

// Flush writes a pending partial line, with a newline.
func (p *prefixWriter) Flush() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.buf) > 0 {
		p.emit([]byte{'\n'})
	}
}

// emit writes prefix + buffered partial line + line in one write; called with p.mu held.
func (p *prefixWriter) emit(line []byte) error {
	out := make([]byte, 0, len(p.prefix)+len(p.buf)+len(line))
	out = append(append(append(out, p.prefix...), p.buf...), line...)
	p.buf = p.buf[:0]
	p.out.mu.Lock()
	defer p.out.mu.Unlock()
	_, err := p.out.w.Write(out)
	return err
}
