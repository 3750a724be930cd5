package devicejs_test

import (
	"context"
	"sync"
	"testing"

	"github.com/dop251/goja"

	"github.com/devicejs/devicejs"
)

// TestHostGojaBesideDevices: a Go host's own goja runtimes, used on other goroutines while
// devices start, share goja's templates of built-ins with the devices' VMs. The sandbox
// patches those templates once, at init, so no device's start writes them while a host's
// runtime reads them (run alone under -race, with the patch made at the first device instead,
// this test reported the data race). The host's runtimes keep goja's own built-ins.
func TestHostGojaBesideDevices(t *testing.T) {
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				vm := goja.New()
				v, err := vm.RunString(`JSON.stringify([1, 2].map(function(x) { return x * 2 })) + [3, 1, 2].sort().join('') + 'ab'.repeat(2) + typeof eval + new Function('return 7')()`)
				if err != nil {
					t.Error(err)
					return
				}
				if got := v.String(); got != "[2,4]123ababfunction7" {
					t.Errorf("host runtime: %q", got)
					return
				}
			}
		}()
	}
	for i := range 4 {
		res, err := devicejs.Run(context.Background(), devicejs.Script{Source: "print([2, 1].sort().join(''), JSON.stringify({a: 1}))"}, devicejs.Config{})
		if err != nil || res.Err != nil {
			t.Fatalf("device %d: %v %v", i, err, res.Err)
		}
	}
	close(stop)
	wg.Wait()
}
