package runtime_test

import (
	"bytes"
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dop251/goja"

	"github.com/devicejs/devicejs/runtime"
)

// TestStartNoLostWakeUp hunts a lost wake-up in the park/resume path of Start loops (a
// device once stopped making progress under -race and heavy load, docs/testing.md): many
// started loops at once, each fed by several goroutines posting jobs in bursts with pauses
// (so the loop parks and resumes many times), one JS timer chain per loop, and handles held
// and released from other goroutines. Every job must run, in order per producer, and every
// loop must end by itself once its last handle is released: a lost wake-up leaves a loop
// parked with work queued, and wait's 10 s bound fails the test.
func TestStartNoLostWakeUp(t *testing.T) {
	const loops, producers, jobs = 16, 4, 150
	var all sync.WaitGroup
	for range loops {
		all.Add(1)
		go func() {
			defer all.Done()
			var out bytes.Buffer
			l := newLoop(&out)
			var main *runtime.Handle
			var extra [producers]*runtime.Handle
			held := make(chan struct{}) // setup runs on the loop goroutine, after Start returns
			setup := func(l *runtime.Loop) error {
				main = l.Hold()
				for i := range extra {
					extra[i] = l.Hold()
				}
				close(held)
				return nil
			}
			// A timer chain keeps resumptions coming from the clock as well as from Post.
			ch := start(t, l, context.Background(),
				`var n = 0; (function tick() { if (++n < 20) setTimeout(tick, 1); })();`, setup)
			<-held
			var ran [producers][]int // loop only
			var producing sync.WaitGroup
			for p := range producers {
				producing.Add(1)
				go func() {
					defer producing.Done()
					for i := range jobs {
						if !l.Post(func(*goja.Runtime) error { ran[p] = append(ran[p], i); return nil }) {
							t.Error("Post returned false while the loop runs")
							return
						}
						if i%10 == 0 {
							time.Sleep(100 * time.Microsecond) // let the loop park in between
						}
					}
					extra[p].Release() // from a goroutine other than the loop's
				}()
			}
			producing.Wait()
			var checked atomic.Bool
			l.Post(func(*goja.Runtime) error {
				for p := range producers {
					if len(ran[p]) != jobs {
						t.Errorf("producer %d: %d jobs ran, want %d", p, len(ran[p]), jobs)
						continue
					}
					for i, v := range ran[p] {
						if v != i {
							t.Errorf("producer %d: job %d ran as %d: not FIFO", p, i, v)
							break
						}
					}
				}
				checked.Store(true)
				main.Release()
				return nil
			})
			if err := wait(t, ch); err != nil {
				t.Errorf("done(%v)", err)
			}
			if !checked.Load() {
				t.Error("the last posted job never ran")
			}
		}()
	}
	all.Wait()
}
