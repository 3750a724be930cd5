package devtest

import (
	"fmt"
	"math"

	"github.com/dop251/goja"
)

// needsEmbedded skips the test: the control cannot work on an external broker. A test on
// --broker that uses it is reported skipped with this reason (docs/testing.md).
func (f *fileRun) needsEmbedded(what string) {
	f.throwSkip(what + " " + ErrNeedsEmbedded.Error())
}

func (f *fileRun) jsBrokerStop(goja.FunctionCall) goja.Value {
	w := f.w()
	switch {
	case w.embedded != nil:
		w.embedded.stop()
	case f.opts.Control != nil:
		f.opts.Control.Stop()
		w.extStopped = true
		w.activity.Add(1)
	default:
		f.needsEmbedded("broker.stop()")
	}
	w.settle()
	return goja.Undefined()
}

func (f *fileRun) jsBrokerStart(goja.FunctionCall) goja.Value {
	w := f.w()
	switch {
	case w.embedded != nil:
		if err := w.embedded.start(); err != nil {
			f.throw("Error", "broker.start: "+err.Error())
		}
	case f.opts.Control != nil:
		select { // a stale value from before the stop
		case <-w.ext.ready:
		default:
		}
		f.opts.Control.Restart()
		w.extStopped = false
		w.activity.Add(1)
		if err := w.ext.waitReady(); err != nil {
			f.throw("Error", "broker.start: "+err.Error())
		}
	default:
		f.needsEmbedded("broker.start()")
	}
	return goja.Undefined()
}

// jsBrokerRestart stops the broker (every client disconnected, sessions lost) and starts it
// again at once.
func (f *fileRun) jsBrokerRestart(call goja.FunctionCall) goja.Value {
	f.jsBrokerStop(call)
	return f.jsBrokerStart(call)
}

// jsBrokerRefuse is broker.refuse(returnCode): every CONNECT is answered with that CONNACK
// return code until broker.refuse(0). The code is a number, an integer from 1 to 5 (the MQTT
// 3.1.1 refusals), or 0 to accept connections again; anything else (NaN, 200, 1.5, '3',
// Infinity, no argument) is a TypeError: a test asking for a refusal the broker cannot send
// must not pass as if it had been refused.
func (f *fileRun) jsBrokerRefuse(call goja.FunctionCall) goja.Value {
	w := f.w()
	v := call.Argument(0)
	n := v.ToFloat()
	if !goja.IsNumber(v) || n != math.Trunc(n) || n < 0 || n > 5 {
		f.throw("TypeError", fmt.Sprintf("broker.refuse(returnCode): want a CONNACK refusal code 1..5 (or 0 to accept again), got %s", describe(v)))
	}
	if w.embedded == nil {
		f.needsEmbedded("broker.refuse()")
	}
	w.embedded.setRefuse(byte(n))
	return goja.Undefined()
}

// jsBrokerUsers is broker.users({name: password, ...}) (null: anonymous allowed again).
func (f *fileRun) jsBrokerUsers(call goja.FunctionCall) goja.Value {
	w := f.w()
	if w.embedded == nil {
		f.needsEmbedded("broker.users()")
	}
	v := call.Argument(0)
	if goja.IsNull(v) || goja.IsUndefined(v) {
		w.embedded.setUsers(nil)
		return goja.Undefined()
	}
	o, ok := v.(*goja.Object)
	if !ok {
		f.throw("TypeError", "broker.users(map): want an object {user: password} or null")
	}
	users := map[string]string{}
	for _, k := range o.Keys() {
		users[k] = o.Get(k).String()
	}
	w.embedded.setUsers(users)
	return goja.Undefined()
}

// jsBrokerDeny is broker.deny(filter, 'publish' | 'subscribe'): an ACL rule for every client.
func (f *fileRun) jsBrokerDeny(call goja.FunctionCall) goja.Value {
	w := f.w()
	if w.embedded == nil {
		f.needsEmbedded("broker.deny()")
	}
	filter := call.Argument(0).String()
	switch call.Argument(1).String() {
	case "publish":
		w.embedded.deny(filter, true)
	case "subscribe":
		w.embedded.deny(filter, false)
	default:
		f.throw("TypeError", "broker.deny(filter, what): what is 'publish' or 'subscribe'")
	}
	return goja.Undefined()
}
