package devtest

import (
	"fmt"

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
// return code (1..5) until broker.refuse(0).
func (f *fileRun) jsBrokerRefuse(call goja.FunctionCall) goja.Value {
	w := f.w()
	if w.embedded == nil {
		f.needsEmbedded("broker.refuse()")
	}
	rc := call.Argument(0).ToInteger()
	if rc < 0 || rc > 255 {
		f.throw("TypeError", fmt.Sprintf("broker.refuse(returnCode): want 0..255, got %v", call.Argument(0)))
	}
	w.embedded.setRefuse(byte(rc))
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

// conditions reads link conditions: a preset name or {latency, jitter, loss, bandwidth}
// (milliseconds, probability, bytes per second).
func (f *fileRun) conditions(v goja.Value) Conditions {
	o, ok := v.(*goja.Object)
	if !ok || o.ClassName() == "String" {
		c, err := ParseConditions(v.String())
		if err != nil {
			f.throw("TypeError", err.Error())
		}
		return c
	}
	var c Conditions
	if x := o.Get("latency"); x != nil && !goja.IsUndefined(x) {
		c.Latency = f.ms(x, "link latency")
	}
	if x := o.Get("jitter"); x != nil && !goja.IsUndefined(x) {
		c.Jitter = f.ms(x, "link jitter")
	}
	if x := o.Get("loss"); x != nil && !goja.IsUndefined(x) {
		c.Loss = x.ToFloat()
		if !(c.Loss >= 0 && c.Loss <= 1) {
			f.throw("TypeError", fmt.Sprintf("link loss: want 0..1, got %v", x))
		}
	}
	if x := o.Get("bandwidth"); x != nil && !goja.IsUndefined(x) {
		c.Bandwidth = x.ToInteger()
		if c.Bandwidth < 0 {
			f.throw("TypeError", fmt.Sprintf("link bandwidth: want bytes/s >= 0, got %v", x))
		}
	}
	return c
}

func (f *fileRun) jsLinkSet(call goja.FunctionCall) goja.Value {
	f.w().link.set(f.conditions(call.Argument(0)))
	return goja.Undefined()
}

func (f *fileRun) jsLinkOutage(call goja.FunctionCall) goja.Value {
	w := f.w()
	w.link.outage(f.ms(call.Argument(0), "link.outage(ms)"))
	w.activity.Add(1)
	return goja.Undefined()
}

func (f *fileRun) jsLinkBlackhole(call goja.FunctionCall) goja.Value {
	f.w().link.setBlackhole(call.Argument(0).ToBoolean())
	return goja.Undefined()
}

func (f *fileRun) jsLinkCut(goja.FunctionCall) goja.Value {
	w := f.w()
	w.link.cut()
	w.activity.Add(1)
	return goja.Undefined()
}

func (f *fileRun) jsLinkStats(goja.FunctionCall) goja.Value {
	s := f.w().link.Stats()
	return f.loop.VM().ToValue(map[string]any{"writes": s.Writes, "lost": s.Lost, "swallowed": s.Swallowed,
		"delayMs": s.Delay.Milliseconds(), "refused": s.Refused, "cuts": s.Cuts})
}
