package runtime

import (
	"unsafe"

	"github.com/dop251/goja"
)

// printLineMax is the longest print line built in one buffer and written
// with a single Write; a longer line is written piece by piece (printPieces),
// so a print costs no copy of a huge string against the memory budget.
const printLineMax = 1 << 20

// jsPrint is print(...args): the JS String() of each argument, joined by one
// space, written as one line to Options.Stdout. A line of up to printLineMax
// bytes is written with a single Write; a longer one with a Write per
// argument and separator, so that printing a huge string costs no copy of
// it. print blocks while the writer does: output is never queued, so a slow
// stdout slows the script rather than growing its memory. Write errors are
// ignored, as print has no way to report them. Loop only.
func (l *Loop) jsPrint(call goja.FunctionCall) goja.Value {
	parts := make([]string, len(call.Arguments))
	n := 0
	for i, a := range call.Arguments {
		parts[i] = a.String()
		n += len(parts[i]) + 1
	}
	if n > printLineMax {
		l.printPieces(parts)
		return goja.Undefined()
	}
	b := l.printBuf[:0]
	for i, p := range parts {
		if i > 0 {
			b = append(b, ' ')
		}
		b = append(b, p...)
	}
	b = append(b, '\n')
	_, _ = l.out.Write(b)
	if cap(b) <= 64<<10 {
		l.printBuf = b // reuse, unless one long line would pin memory
	}
	return goja.Undefined()
}

// printPieces writes a long print line as its parts, the spaces between
// them and the newline, each without a copy. Loop only.
func (l *Loop) printPieces(parts []string) {
	space, newline := []byte{' '}, []byte{'\n'}
	for i, p := range parts {
		if i > 0 {
			_, _ = l.out.Write(space)
		}
		if len(p) > 0 {
			// An io.Writer must not modify or keep the slice, so the string's
			// bytes are safe to lend it.
			_, _ = l.out.Write(unsafe.Slice(unsafe.StringData(p), len(p)))
		}
	}
	_, _ = l.out.Write(newline)
}
