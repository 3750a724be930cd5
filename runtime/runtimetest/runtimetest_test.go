package runtimetest_test

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/devicejs/devicejs/runtime"
	"github.com/devicejs/devicejs/runtime/runtimetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestRun(t *testing.T) {
	setup := func(l *runtime.Loop) error { return l.VM().Set("answer", 42) }
	out, err := runtimetest.Run(t, `setTimeout(function() { print('answer', answer) }, 60000)`, setup)
	if err != nil || out != "answer 42\n" {
		t.Errorf("Run = %q, %v", out, err)
	}
	_, err = runtimetest.Run(t, `throw new Error('x')`)
	if _, ok := err.(*runtime.ScriptError); !ok {
		t.Errorf("Run = %v, want a *runtime.ScriptError", err)
	}
}
