package runtime

import "github.com/dop251/goja"

// installGlobals adds the device globals to the ECMAScript built-ins: print
// and the timer functions, then the sandbox's hooks (sandbox.Install: the
// hidden preemption tick, which is jsTick, the call-depth check, the checked
// eval and function constructors, the source check). Loop only.
func (l *Loop) installGlobals() {
	g := l.vm.GlobalObject()
	for _, f := range []struct {
		name string
		fn   func(goja.FunctionCall) goja.Value
	}{
		{"print", l.jsPrint},
		{"setTimeout", l.jsSetTimeout},
		{"setInterval", l.jsSetInterval},
		{"clearTimeout", l.jsClearTimer},
		{"clearInterval", l.jsClearTimer},
	} {
		if err := g.Set(f.name, l.nativeFunc(f.name, f.fn)); err != nil {
			panic(err)
		}
	}
	l.sb.Install(l.jsTick)
}

// nativeFunc returns fn as a JS function whose name (shown in stack traces
// and by fn.name) is name rather than the Go function's name. Loop only.
func (l *Loop) nativeFunc(name string, fn func(goja.FunctionCall) goja.Value) *goja.Object {
	o := l.vm.ToValue(fn).(*goja.Object)
	if err := o.DefineDataProperty("name", l.vm.ToValue(name), goja.FLAG_FALSE, goja.FLAG_FALSE, goja.FLAG_TRUE); err != nil {
		panic(err)
	}
	return o
}

// jsTick is the hidden preemption point at the start of every loop body.
// It costs one atomic load when nothing is due. At the top level it runs a
// dispatch round; inside a callback it does nothing (callbacks never nest).
func (l *Loop) jsTick(goja.FunctionCall) goja.Value {
	if l.mem != nil {
		l.tickMemory() // DeviceMemory: after a slow step, check at once (devmemory.go)
	}
	if l.pending.Load() && l.depth == 0 && !l.stopped.Load() {
		l.round(true)
	} else if l.mem != nil && l.depth > 0 && l.mem.req.Load() {
		l.measure() // a callback spinning: the posted measurement would wait for it (devmemory.go)
	} else if l.depth == 0 {
		l.work.spinIdle(&l.pending) // nil without an IdleClock
	}
	return goja.Undefined()
}
