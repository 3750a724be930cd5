package runtime

import (
	"fmt"
	"sync/atomic"

	"github.com/dop251/goja"
	"github.com/dop251/goja/parser"
)

// compiled is a compiled script: a *goja.Program is immutable and may run in any number of
// runtimes at once, and the column map is only read after instrument returns.
type compiled struct {
	filename, src string
	prg           *goja.Program
	cols          *colMap
}

// lastCompiled is the most recent successful compilation, reused when the next loop runs the
// same filename and source: a fleet of N loops running one script parses, instruments and
// compiles it once instead of N times. It holds only immutable values.
var lastCompiled atomic.Pointer[compiled]

// compile parses src, inserts the preemption points and compiles the result.
// Source map comments are ignored (never loaded from disk). Loop only.
func (l *Loop) compile(filename, src string) (*goja.Program, error) {
	if c := lastCompiled.Load(); c != nil && c.filename == filename && c.src == src {
		l.cols = c.cols
		return c.prg, nil
	}
	if sourceDepth(src) > MaxSourceDepth {
		return nil, &ScriptError{Kind: KindSyntax, File: filename,
			Message: fmt.Sprintf("brackets nested deeper than %d levels", MaxSourceDepth)}
	}
	prg, err := parser.ParseFile(nil, filename, src, 0, parser.WithDisableSourceMaps)
	if err != nil {
		return nil, l.syntaxError(filename, err)
	}
	prg, l.cols = instrument(filename, prg, src)
	p, err := goja.CompileAST(prg, false)
	if err != nil {
		return nil, l.syntaxError(filename, err)
	}
	lastCompiled.Store(&compiled{filename: filename, src: src, prg: p, cols: l.cols})
	return p, nil
}
