package runtime

import (
	"errors"

	"github.com/dop251/goja/parser"
)

// InstrumentModule checks and instruments body, the source of a module that the caller
// compiles as prefix + body + suffix (a function expression, as goja_nodejs's require wraps a
// CommonJS module), the way Run checks and instruments a script: CheckSource on the whole
// text, goja's parse, then the preemption points, the call-depth checks and the eval and
// Function source checks (and the generator guards, when it defines a generator or an async
// function). It returns the instrumented body: prefix + it + suffix is the instrumented
// function. Line numbers are kept; columns to the right of an inserted check shift. The work
// is the sandbox's (sandbox.Sandbox.InstrumentModule); this converts its errors.
//
// Source that is too long, too deep, does not parse or cannot be instrumented gives a
// *ScriptError of KindSyntax named filename, positioned in body. Loop only.
func (l *Loop) InstrumentModule(filename, prefix, body, suffix string) (string, error) {
	out, err := l.sb.InstrumentModule(filename, prefix, body, suffix)
	if err == nil {
		return out, nil
	}
	se := &ScriptError{Kind: KindSyntax, File: filename, Message: err.Error()}
	var list parser.ErrorList
	var pe *parser.Error
	switch {
	case errors.As(err, &list) && len(list) > 0:
		pe = list[0]
	case errors.As(err, &pe):
	}
	if pe != nil {
		se.Message, se.Line, se.Column = pe.Message, pe.Position.Line, pe.Position.Column
		if se.Line == 1 && se.Column > len(prefix) {
			se.Column -= len(prefix)
		}
	}
	return "", se
}
