package runtime

import (
	"github.com/dop251/goja"
	"github.com/dop251/goja/parser"
)

// compile parses src, inserts the preemption points and compiles the result.
// Source map comments are ignored (never loaded from disk). Loop only.
func (l *Loop) compile(filename, src string) (*goja.Program, error) {
	prg, err := parser.ParseFile(nil, filename, src, 0, parser.WithDisableSourceMaps)
	if err != nil {
		return nil, l.syntaxError(filename, err)
	}
	prg, l.cols = instrument(filename, prg, src)
	p, err := goja.CompileAST(prg, false)
	if err != nil {
		return nil, l.syntaxError(filename, err)
	}
	return p, nil
}
