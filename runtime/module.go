package runtime

import (
	"errors"
	"strings"

	"github.com/dop251/goja/parser"
)

// InstrumentModule checks and instruments body, the source of a module that the caller
// compiles as prefix + body + suffix (a function expression, as goja_nodejs's require wraps a
// CommonJS module), the way Run checks and instruments a script: CheckSource on the whole
// text, goja's parse, then the preemption points, the call-depth checks and the eval and
// Function source checks (and the generator guards, when it defines a generator or an async
// function). It returns the instrumented body: prefix + it + suffix is the instrumented
// function. Line numbers are kept; columns to the right of an inserted check shift.
//
// Source that is too long, too deep, does not parse or cannot be instrumented gives a
// *ScriptError of KindSyntax named filename, positioned in body. Loop only.
func (l *Loop) InstrumentModule(filename, prefix, body, suffix string) (string, error) {
	src := prefix + body + suffix
	if err := CheckSource(src); err != nil {
		return "", &ScriptError{Kind: KindSyntax, File: filename, Message: err.Error()}
	}
	prg, err := parser.ParseFile(nil, filename, src, 0, parser.WithDisableSourceMaps)
	if err != nil {
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
	if mayDefineGenerators(src) && definesGenerators(prg) {
		l.guardGenerators()
	}
	r, p, err := instrumented(filename, prg, src, 0)
	if err != nil {
		return "", &ScriptError{Kind: KindSyntax, File: filename, Message: err.Error()}
	}
	if p == nil {
		return body, nil
	}
	// Every insertion must fall inside the body (the wrapper function's own entry check goes
	// right after prefix's "{", at the body's start).
	end := len(prefix) + len(body)
	for _, e := range r.edits {
		if e.off < len(prefix) || e.off > end {
			return "", &ScriptError{Kind: KindSyntax, File: filename, Message: errUninstrumentable.Error()}
		}
	}
	if !strings.HasPrefix(r.src, prefix) || !strings.HasSuffix(r.src, suffix) {
		return "", &ScriptError{Kind: KindSyntax, File: filename, Message: errUninstrumentable.Error()}
	}
	return r.src[len(prefix) : len(r.src)-len(suffix)], nil
}
