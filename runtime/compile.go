package runtime

import (
	"errors"

	"github.com/dop251/goja"

	"github.com/devicejs/devicejs/runtime/sandbox"
)

// compile takes the script through the sandbox (source bounds, parse, instrumentation,
// compilation: sandbox.Compile) and converts its error to a KindSyntax *ScriptError. Loop
// only.
func (l *Loop) compile(filename, src string) (*goja.Program, error) {
	prg, cols, err := l.sb.Compile(filename, src)
	l.cols = cols
	if err == nil {
		return prg, nil
	}
	return nil, l.compileError(filename, err)
}

// compileError converts sandbox.Compile's error (apart from compile, so that the success path
// allocates nothing for it).
func (l *Loop) compileError(filename string, err error) *ScriptError {
	var refused *sandbox.RefusedError
	if errors.As(err, &refused) {
		return &ScriptError{Kind: KindSyntax, File: filename, Message: err.Error()}
	}
	return l.syntaxError(filename, err)
}
