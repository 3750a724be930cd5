package runtime

import (
	"reflect"
	"sync/atomic"

	"github.com/dop251/goja"
	"github.com/dop251/goja/ast"
	"github.com/dop251/goja/parser"
)

// compiled is a compiled script: a *goja.Program is immutable and may run in any number of
// runtimes at once, and the column map is only read after instrument returns.
type compiled struct {
	filename, src string
	prg           *goja.Program
	cols          *colMap
	generators    bool // the script defines a generator or an async function
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
		if c.generators {
			l.guardGenerators()
		}
		return c.prg, nil
	}
	if err := CheckSource(src); err != nil {
		return nil, &ScriptError{Kind: KindSyntax, File: filename, Message: err.Error()}
	}
	prg, err := parser.ParseFile(nil, filename, src, 0, parser.WithDisableSourceMaps)
	if err != nil {
		return nil, l.syntaxError(filename, err)
	}
	gen := mayDefineGenerators(src) && definesGenerators(prg) // the walk only when it can matter
	prg, l.cols, err = instrument(filename, prg, src)
	if err != nil {
		return nil, &ScriptError{Kind: KindSyntax, File: filename, Message: err.Error()}
	}
	p, err := goja.CompileAST(prg, false)
	if err != nil {
		return nil, l.syntaxError(filename, err)
	}
	lastCompiled.Store(&compiled{filename: filename, src: src, prg: p, cols: l.cols, generators: gen})
	if gen {
		l.guardGenerators()
	}
	return p, nil
}

// definesGenerators reports whether prg defines a generator or an async function (see
// guardGenerators).
func definesGenerators(prg *ast.Program) bool {
	found := false
	walk(reflect.ValueOf(prg), make(map[nodeKey]bool), nil, func(n ast.Node) {
		switch f := n.(type) {
		case *ast.FunctionLiteral:
			found = found || f.Async || f.Generator
		case *ast.ArrowFunctionLiteral:
			found = found || f.Async
		}
	})
	return found
}
