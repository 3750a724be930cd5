package devicejs_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/devicejs/devicejs"
	"github.com/devicejs/devicejs/runtime"
)

// ExampleRunIsolated runs a device in a child `devicejs run` process with a 64 MiB heap
// budget: a script that leaks ends the child, never the caller. It needs the devicejs binary,
// so it has no checked output (TestRunIsolated runs the same calls).
func ExampleRunIsolated() {
	script := devicejs.Script{Name: "leak.js", Source: `var hold = [];
setInterval(function() { hold.push(new Float64Array(1 << 20)); }, 5);`}
	res, err := devicejs.RunIsolated(context.Background(), script, devicejs.IsolatedConfig{
		Binary:    "devicejs", // looked up in PATH
		Broker:    "embedded",
		MaxMemory: 64 << 20,
		Timeout:   time.Minute,
		Stdout:    os.Stdout,
	})
	switch {
	case err != nil:
		fmt.Println("the child did not run:", err)
	case errors.Is(res.Err, runtime.ErrMemoryBudget):
		fmt.Println("the device outgrew its budget:", res.Err)
	default:
		fmt.Println(res.Ending)
	}
}
