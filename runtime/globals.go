package runtime

import (
	"github.com/dop251/goja"

	"github.com/devicejs/devicejs/internal/gojainternal"
)

// The templates of the loop's own functions (gojainternal.FuncTemplate): each function's
// "name" and "length" are built when a script first touches them, so a device pays about
// 220 bytes per function instead of 800 (issue 20).
var (
	printFunc         = gojainternal.NewFuncTemplate("print", 0)
	setTimeoutFunc    = gojainternal.NewFuncTemplate("setTimeout", 0)
	setIntervalFunc   = gojainternal.NewFuncTemplate("setInterval", 0)
	clearTimeoutFunc  = gojainternal.NewFuncTemplate("clearTimeout", 0)
	clearIntervalFunc = gojainternal.NewFuncTemplate("clearInterval", 0)
	waitFunc          = gojainternal.NewFuncTemplate("wait", 0)
)

// installGlobals adds the device globals to the ECMAScript built-ins: print
// and the timer functions, then the sandbox's hooks (sandbox.Install: the
// hidden preemption tick, which is jsTick, the call-depth check, the checked
// eval and function constructors, the source check). Loop only.
func (l *Loop) installGlobals() {
	g := l.vm.GlobalObject()
	for _, f := range []struct {
		name string
		tmpl *gojainternal.FuncTemplate
		fn   func(goja.FunctionCall) goja.Value
	}{
		{"print", printFunc, l.jsPrint},
		{"setTimeout", setTimeoutFunc, l.jsSetTimeout},
		{"setInterval", setIntervalFunc, l.jsSetInterval},
		{"clearTimeout", clearTimeoutFunc, l.jsClearTimer},
		{"clearInterval", clearIntervalFunc, l.jsClearTimer},
	} {
		if err := g.Set(f.name, f.tmpl.New(l.vm, f.fn)); err != nil {
			panic(err)
		}
	}
	l.sb.Install(l.jsTick)
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
