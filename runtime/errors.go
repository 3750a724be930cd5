package runtime

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/dop251/goja"
	"github.com/dop251/goja/parser"
)

// ErrorKind says what ended a run with a *ScriptError. It is a plain value,
// safe to use from any goroutine.
type ErrorKind int

const (
	// KindException is an uncaught JS exception (or a non-nil error returned
	// by a posted job or a setup function).
	KindException ErrorKind = iota
	// KindSyntax is a syntax (early) error: the script never started.
	KindSyntax
	// KindPanic is a Go panic in a native function, a posted job or a setup
	// function, recovered on the loop goroutine.
	KindPanic
	// KindLimit is a resource limit of the run, such as the memory budget
	// (Err is ErrMemoryBudget).
	KindLimit
)

// String returns "exception", "syntax" or "panic".
func (k ErrorKind) String() string {
	switch k {
	case KindException:
		return "exception"
	case KindSyntax:
		return "syntax"
	case KindPanic:
		return "panic"
	case KindLimit:
		return "limit"
	}
	return "ErrorKind(" + strconv.Itoa(int(k)) + ")"
}

// ScriptError is what Run returns when the script failed: an uncaught
// exception, a syntax error or a recovered Go panic. Positions are those of
// the original source (1-based; Line 0 means unknown). A ScriptError is a
// plain value, safe to read from any goroutine once Run has returned it.
//
// It holds no part of the VM: the message, the name, the position and the
// stack are captured as strings on the loop goroutine when the run fails, and
// Err is never a goja value, object or exception (a *goja.StackOverflowError
// is an empty one, kept for errors.As). Keeping a ScriptError keeps a few KiB
// alive, not the failed device's heap.
type ScriptError struct {
	Kind    ErrorKind
	Message string // the JS String() of the thrown value, e.g. "Error: boom"; the panic value for KindPanic
	File    string
	Line    int
	Column  int
	Stack   string // JS stack, one "\tat ..." line per frame, innermost first; "" when unknown
	GoStack string // KindPanic only: the Go stack of the panicking goroutine
	Err     error  // the underlying Go error, if any (returned by Unwrap); never a goja value
	// Name is the thrown Error object's own name, e.g. "TypeError", read when the run failed
	// (a string name property only; "" for any other thrown value, and for a name the
	// script's getter computes).
	Name string
}

// Error formats the error like "sample.js:3:7: Uncaught Error: boom",
// followed by the JS stack lines and, for a panic, the Go stack.
func (e *ScriptError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d:%d", e.Line, e.Column)
	}
	b.WriteString(": ")
	switch e.Kind {
	case KindSyntax:
		b.WriteString("SyntaxError: ")
	case KindPanic:
		b.WriteString("panic: ")
	case KindLimit:
	default:
		b.WriteString("Uncaught ")
	}
	b.WriteString(e.Message)
	if e.Stack != "" {
		b.WriteByte('\n')
		b.WriteString(strings.TrimSuffix(e.Stack, "\n"))
	}
	if e.GoStack != "" {
		b.WriteString("\n\n")
		b.WriteString(strings.TrimSuffix(e.GoStack, "\n"))
	}
	return b.String()
}

// Unwrap returns the underlying Go error, if any.
func (e *ScriptError) Unwrap() error { return e.Err }

// syntaxError converts a parse or compile error of the script.
func (l *Loop) syntaxError(filename string, err error) *ScriptError {
	se := &ScriptError{Kind: KindSyntax, File: filename, Message: err.Error(), Err: detached(err)}
	var list parser.ErrorList
	var pe *parser.Error
	var ce *goja.CompilerSyntaxError
	switch {
	case errors.As(err, &list) && len(list) > 0:
		pe = list[0]
	case errors.As(err, &pe):
	case errors.As(err, &ce):
		se.Message = ce.Message
		if ce.File != nil {
			p := ce.File.Position(ce.Offset)
			se.Line, se.Column = p.Line, l.cols.Original(p.Line, p.Column)
		}
		return se
	}
	if pe != nil {
		se.Message = pe.Message
		se.Line, se.Column = pe.Position.Line, l.cols.Original(pe.Position.Line, pe.Position.Column)
	}
	return se
}

// maxStackFrames bounds the frames formatted into ScriptError.Stack.
const maxStackFrames = 20

// exceptionError converts an uncaught JS exception. It returns the run's stop
// cause instead when the run is stopped while the thrown value is converted
// for the message (valueString).
//
// The ScriptError keeps nothing of ex: Err is the Go error a GoError object
// wraps (goja's Exception.Unwrap), if any, never ex itself, whose value holds
// the whole VM.
func (l *Loop) exceptionError(ex *goja.Exception) error {
	se := &ScriptError{Kind: KindException, File: l.filename}
	if v := ex.Value(); v != nil {
		if stop := l.describe(se, v); stop != nil {
			return stop
		}
		// Unwrap reads the GoError's "value", which a script may have made a getter.
		if _, stop := l.guarded(func() string { se.Err = detached(ex.Unwrap()); return "" }); stop != nil {
			return stop
		}
	}
	l.setPosition(se, ex.Stack())
	return se
}

// thrownValueError converts a JS value a native function panicked with, like
// exceptionError but without a stack.
func (l *Loop) thrownValueError(v goja.Value) error {
	se := &ScriptError{Kind: KindException, File: l.filename}
	if stop := l.describe(se, v); stop != nil {
		return stop
	}
	return se
}

// describe sets se.Message and se.Name from the thrown value v. It returns
// the run's stop cause when the run is stopped while script code it runs
// (toString) spins (see valueString).
func (l *Loop) describe(se *ScriptError, v goja.Value) error {
	msg, stop := l.valueString(v)
	if stop != nil {
		return stop
	}
	se.Message = msg
	name, stop := l.errorName(v)
	if stop != nil {
		return stop
	}
	se.Name = name
	return nil
}

// errorName is the name of v when v is an Error object whose name (own or
// inherited) is a string: "TypeError", "MyError"; "" otherwise. A getter the
// script put on "name" runs, guarded like valueString: a throw gives "", a
// stop of the run meanwhile gives stop.
func (l *Loop) errorName(v goja.Value) (string, error) {
	obj, ok := v.(*goja.Object)
	if !ok || obj == nil || obj.ClassName() != "Error" {
		return "", nil
	}
	name, stop := l.guarded(func() string {
		if n := obj.Get("name"); n != nil {
			s, _ := n.Export().(string)
			return s
		}
		return ""
	})
	if name == unconvertible {
		name = ""
	}
	return name, stop
}

// detached is err when it is a plain Go error, or nil when it is a goja value
// (an *Exception, whose value holds the VM, or another type of package goja)
// that must not outlive the run. A *goja.CompilerSyntaxError or
// *goja.CompilerReferenceError is copied without its source file, and a
// *goja.StackOverflowError replaced by an empty one, so that errors.As still
// finds them.
func detached(err error) error {
	switch e := err.(type) {
	case nil:
		return nil
	case *goja.CompilerSyntaxError:
		return &goja.CompilerSyntaxError{CompilerError: goja.CompilerError{Message: e.Message, Offset: e.Offset}}
	case *goja.CompilerReferenceError:
		return &goja.CompilerReferenceError{CompilerError: goja.CompilerError{Message: e.Message, Offset: e.Offset}}
	case *goja.StackOverflowError:
		return &goja.StackOverflowError{}
	case *goja.InterruptedError:
		return detached(e.Unwrap())
	}
	if t := reflect.TypeOf(err); t.PkgPath() == gojaPkg || (t.Kind() == reflect.Pointer && t.Elem().PkgPath() == gojaPkg) {
		return nil
	}
	return err
}

// gojaPkg is the import path of package goja.
var gojaPkg = reflect.TypeFor[goja.Exception]().PkgPath()

// setPosition fills File, Line, Column and Stack from a JS stack.
func (l *Loop) setPosition(se *ScriptError, frames []goja.StackFrame) {
	if n := l.baseFrames; n > 0 && len(frames) > n {
		frames = frames[:len(frames)-n]
	}
	var b strings.Builder
	located := false
	for i := range frames {
		if i == maxStackFrames {
			fmt.Fprintf(&b, "\t... %d more frames\n", len(frames)-i)
			break
		}
		f := &frames[i]
		b.WriteString("\tat ")
		if f.SrcName() == "<native>" {
			b.WriteString(f.FuncName())
			b.WriteString(" (native)\n")
			continue
		}
		p := f.Position()
		col := p.Column
		if p.Filename == l.filename {
			col = l.cols.Original(p.Line, p.Column)
		}
		if !located {
			located = true
			se.File, se.Line, se.Column = p.Filename, p.Line, col
		}
		fmt.Fprintf(&b, "%s (%s:%d:%d)\n", f.FuncName(), p.Filename, p.Line, col)
	}
	se.Stack = b.String()
}

// unconvertible is the message of a thrown value whose conversion to a
// string throws.
const unconvertible = "<a value that cannot be converted to a string>"

// valueString is the JS String() of a thrown value, for the error message.
// The conversion runs script code (toString, valueOf, Symbol.toPrimitive)
// outside any JS try: if that code throws, the message is a placeholder. If
// the run is stopped while it runs (a toString that spins until --timeout,
// --for or a signal interrupts it), stop is the stop's cause, which then
// ends the run instead of the value: the run did not end because of the
// throw but because of what stopped it.
func (l *Loop) valueString(v goja.Value) (s string, stop error) {
	return l.guarded(v.String)
}

// guarded runs f, which may run script code, outside any JS try: a throw
// gives the unconvertible placeholder, and a stop of the run while f runs
// gives stop (see valueString).
func (l *Loop) guarded(f func() string) (s string, stop error) {
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		s = unconvertible
		_, interrupted := r.(*goja.InterruptedError)
		if interrupted || l.stopped.Load() {
			stop = l.stopCause()
		}
	}()
	return f(), nil
}

// stopCause is the cause of a run stopped from outside (Interrupt or the
// context), or nil.
func (l *Loop) stopCause() error {
	if err := l.interruptCause(); err != nil {
		return err
	}
	if l.ctx != nil && l.ctx.Err() != nil {
		return context.Cause(l.ctx)
	}
	return nil
}

// goError converts a non-nil error returned by a posted job or a setup
// function.
func (l *Loop) goError(err error) error {
	var ex *goja.Exception
	if errors.As(err, &ex) {
		return l.exceptionError(ex)
	}
	var se *ScriptError
	if errors.As(err, &se) {
		return se
	}
	return &ScriptError{Kind: KindException, File: l.filename, Message: err.Error(), Err: detached(err)}
}

// panicError converts a recovered Go panic.
func (l *Loop) panicError(v any, goStack []byte) *ScriptError {
	se := &ScriptError{Kind: KindPanic, File: l.filename, Message: fmt.Sprint(v), GoStack: string(goStack)}
	if err, ok := v.(error); ok {
		se.Err = detached(err)
	}
	return se
}
