package sandbox

import (
	"errors"
	"strings"

	"github.com/dop251/goja"
)

// testHost is a Host for tests: it interrupts the VM, as a loop does.
type testHost struct {
	vm          *goja.Runtime
	interrupted error
}

func (h *testHost) Interrupt(err error) {
	if h.interrupted == nil {
		h.interrupted = err
	}
	h.vm.Interrupt(err)
}

func (h *testHost) BudgetError(msg string) error {
	return errors.New("memory budget exceeded: " + msg)
}

func (h *testHost) DeviceEstimate() (int64, bool) { return 0, false }

// testVM is a goja runtime with a Sandbox attached and installed as a loop does it (the
// owner's globals, here print, before Install), without a loop: no timers, a tick that does
// nothing.
type testVM struct {
	vm   *goja.Runtime
	sb   *Sandbox
	host testHost
	out  strings.Builder
}

func newTestVM(budget int64) *testVM {
	t := &testVM{vm: goja.New(), sb: new(Sandbox)}
	t.host.vm = t.vm
	t.sb.Attach(t.vm, budget, &t.host)
	if err := t.vm.Set("print", func(call goja.FunctionCall) goja.Value {
		parts := make([]string, len(call.Arguments))
		for i, a := range call.Arguments {
			parts[i] = a.String()
		}
		t.out.WriteString(strings.Join(parts, " ") + "\n")
		return goja.Undefined()
	}); err != nil {
		panic(err)
	}
	t.sb.Install(func(goja.FunctionCall) goja.Value { return goja.Undefined() })
	return t
}

// run compiles src through the sandbox and runs it.
func (t *testVM) run(name, src string) error {
	prg, _, err := t.sb.Compile(name, src)
	if err != nil {
		return err
	}
	_, err = t.vm.RunProgram(prg)
	return err
}
