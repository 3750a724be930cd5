package runtime_test

import (
	"context"
	"fmt"
	"os"

	"github.com/dop251/goja"

	"github.com/devicejs/devicejs/runtime"
)

func ExampleLoop_Run() {
	// Device time runs 10000 times faster than wall time.
	l := runtime.New(runtime.Options{Stdout: os.Stdout, Clock: runtime.NewScaledClock(10000)})
	src := `
setTimeout(function(s) { print('first', s) }, 100, 'arg');
setTimeout(function() { print('last') }, 3000000);
setTimeout(10000).wait(); // runs 'first' meanwhile
print('waited');
`
	err := l.Run(context.Background(), "example.js", src)
	fmt.Println("err:", err)
	// Output:
	// first arg
	// waited
	// last
	// err: <nil>
}

func ExampleLoop_Run_error() {
	l := runtime.New(runtime.Options{Stdout: os.Stdout})
	err := l.Run(context.Background(), "example.js", "var client = null;\nif (!client) {\nthrow 'Failed to create mqtt instance';\n}")
	fmt.Println(err)
	// Output:
	// example.js:3:1: Uncaught Failed to create mqtt instance
	// 	at <anonymous> (example.js:3:1)
}

// A binding keeps the loop alive with Hold while its connection is open and
// delivers events with Post, from its own goroutines.
func ExampleLoop_Post() {
	l := runtime.New(runtime.Options{Stdout: os.Stdout})
	setup := func(l *runtime.Loop) error {
		h := l.Hold()
		l.OnStop(func() { fmt.Println("stopped") })
		return l.VM().Set("connect", func(call goja.FunctionCall) goja.Value {
			onMessage, _ := goja.AssertFunction(call.Argument(0))
			go func() { // a network goroutine
				for _, m := range []string{"hello", "world"} {
					l.Post(func(vm *goja.Runtime) error {
						_, err := onMessage(goja.Undefined(), vm.ToValue(m))
						return err
					})
				}
				h.Release() // connection closed
			}()
			return goja.Undefined()
		})
	}
	err := l.Run(context.Background(), "example.js", `connect(function(m) { print('message', m) })`, setup)
	fmt.Println("err:", err)
	// Output:
	// message hello
	// message world
	// stopped
	// err: <nil>
}
