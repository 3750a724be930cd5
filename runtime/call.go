package runtime

import (
	"errors"
	"runtime/debug"

	"github.com/dop251/goja"
)

// stopSignal is the value the loop interrupts the VM with when the run must
// end; JS cannot catch the interruption.
type stopSignal struct{}

func (stopSignal) Error() string { return "runtime: run stopped" }

var errStopSignal error = stopSignal{}

// call runs f, which enters JS, on the loop goroutine. An error f returns, a
// panic it raises or a promise rejection left unhandled (rejections.go) ends
// the run: call records it as the run's fatal error, interrupts the VM and
// returns false. Loop only.
func (l *Loop) call(f func() error) (ok bool) {
	defer func() {
		if r := recover(); r != nil {
			l.fail(l.recovered(r, debug.Stack()))
			ok = false
		}
	}()
	if err := f(); err != nil {
		l.fail(l.convert(err))
		return false
	}
	if err := l.unhandledRejection(); err != nil {
		l.fail(err)
		return false
	}
	return true
}

// safe runs a Go hook, converting a panic into a *ScriptError. Loop only.
func (l *Loop) safe(f func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = l.recovered(r, debug.Stack())
		}
	}()
	f()
	return nil
}

// fail records err as the run's fatal error (the first one wins) and makes
// every level of the loop unwind: dispatching stops and the VM is
// interrupted, so JS code cannot catch the failure of a nested callback.
func (l *Loop) fail(err error) {
	if err == nil {
		return
	}
	if l.fatal == nil {
		l.fatal = err
	}
	l.stopped.Store(true)
	l.vm.Interrupt(errStopSignal)
}

// convert turns an error returned from JS (or by a posted job) into the
// run's error. Loop only.
func (l *Loop) convert(err error) error {
	var ie *goja.InterruptedError
	var so *goja.StackOverflowError
	switch {
	case errors.As(err, &ie):
		if r := l.result(); r != nil {
			return r
		}
		if ie.Value() == errStopSignal {
			return nil
		}
		se := &ScriptError{Kind: KindException, File: l.filename, Message: "interrupted: " + ie.Error(), Err: detached(ie)}
		l.setPosition(se, ie.Stack())
		return se
	case errors.As(err, &so):
		se := &ScriptError{Kind: KindException, File: l.filename,
			Message: "RangeError: Maximum call stack size exceeded", Err: detached(so)}
		l.setPosition(se, so.Stack())
		return se
	}
	return l.goError(err)
}

// recovered turns a recovered panic value into the run's error. JS
// exceptions and interruptions thrown as panics (by vm methods called from a
// posted job) are converted like returned errors. Loop only.
func (l *Loop) recovered(r any, stack []byte) error {
	switch v := r.(type) {
	case *goja.Exception:
		return l.exceptionError(v)
	case *goja.InterruptedError:
		return l.convert(v)
	case *goja.StackOverflowError:
		return l.convert(v)
	case goja.Value: // a JS value thrown by Go code, e.g. panic(vm.NewTypeError(...))
		return l.thrownValueError(v)
	}
	return l.panicError(r, stack)
}
