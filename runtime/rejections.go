package runtime

import (
	"github.com/dop251/goja"

	"github.com/devicejs/devicejs/internal/gojainternal"
)

// Unhandled promise rejections. goja tells the loop when a promise is rejected
// with no handler (PromiseRejectionReject) and when a handler is added to such
// a promise later (PromiseRejectionHandle). A rejection still unhandled when
// the JS stack is empty again after an entry into JS (the top level, a timer
// callback, a posted job), that is after the microtasks queued by that entry
// ran, ends the run like an uncaught throw: "Uncaught (in promise) <value>",
// at the place where the Error was made, or for another value where it was
// rejected (docs/runtime.md, "Errors"). This is Node's
// default (--unhandled-rejections=throw) and the "Uncaught (in promise)" of
// browsers and k6.

// maxRejectionStacks bounds the rejections whose stack is kept: a script that
// leaves a million promises rejected in one job keeps a million promises but
// only this many stacks.
const maxRejectionStacks = 64

// rejection is a promise rejected with no handler yet.
type rejection struct {
	seq    uint64            // order of the rejections: the first is reported
	frames []goja.StackFrame // the JS stack where it was rejected; nil past maxRejectionStacks
}

// rejections tracks the promises rejected without a handler. Loop only.
type rejections struct {
	pending map[*goja.Promise]rejection
	seq     uint64
}

// trackRejection is the VM's promise rejection tracker (goja calls it on the
// loop goroutine, inside the JS that rejects or handles the promise).
func (l *Loop) trackRejection(p *goja.Promise, op goja.PromiseRejectionOperation) {
	r := &l.rejections
	switch op {
	case goja.PromiseRejectionReject:
		if r.pending == nil {
			r.pending = make(map[*goja.Promise]rejection)
		}
		r.seq++
		rj := rejection{seq: r.seq}
		if len(r.pending) < maxRejectionStacks {
			rj.frames = l.vm.CaptureCallStack(maxStackFrames+1, nil)
			if n := l.baseFrames; n > 0 && len(rj.frames) > n {
				rj.frames = rj.frames[:len(rj.frames)-n] // the frames a preemption point interrupted
			}
		}
		r.pending[p] = rj
	case goja.PromiseRejectionHandle:
		delete(r.pending, p)
	}
}

// unhandledRejection returns the error for the first rejection still
// unhandled, or nil; it only looks once the JS stack is empty (microtasks
// run when it empties, so a handler may still come before). It forgets
// every pending rejection it looked at. Loop only.
func (l *Loop) unhandledRejection() error {
	r := &l.rejections
	if len(r.pending) == 0 || len(l.vm.CaptureCallStack(1, nil)) > 0 {
		return nil
	}
	var first *goja.Promise
	for p, rj := range r.pending {
		if first == nil || rj.seq < r.pending[first].seq {
			first = p
		}
	}
	rj := r.pending[first]
	clear(r.pending)
	if first.State() != goja.PromiseStateRejected {
		return nil // cannot happen: a rejected promise stays rejected
	}
	msg, stop := l.valueString(first.Result())
	if stop != nil {
		return stop
	}
	se := &ScriptError{Kind: KindException, File: l.filename, Message: "(in promise) " + msg}
	if se.Name, stop = l.errorName(first.Result()); stop != nil {
		return stop
	}
	frames := rj.frames
	if es := gojainternal.ErrorStack(first.Result()); len(es) > 0 {
		frames = es // an Error: where it was made, as V8 prints it
	}
	saved := l.baseFrames
	l.baseFrames = 0 // rejection stacks are trimmed when captured
	l.setPosition(se, frames)
	l.baseFrames = saved
	return se
}
