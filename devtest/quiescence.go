package devtest

import (
	"bytes"
	"context"
	"os"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// How the embedded world knows that it is idle (issue 18 C, docs/testing.md "Virtual time: the
// exact rule"). Every goroutine of a test's world carries the pprof label worldLabel=<id>: the
// test's goroutine sets it before it builds the world, and Go gives a goroutine's labels to every
// goroutine it starts, so the broker's, the devices', paho's, mochi's and the link's goroutines
// all carry it. The world is idle when, in one stop-the-world snapshot of all goroutines
// (runtime.Stack), none of its goroutines but the caller is running or runnable (or in a state
// that is about to be: a system call, a lock wait), leaving out the device loops, whose idleness
// runtime.IdleClock already knows exactly. A goroutine blocked on a channel, a condition, a
// select or a sleep can only be woken by another goroutine (all blocked), by device time (which
// only the caller moves) or by wall time (the parts of the embedded world keep none that matter:
// mochi's and paho's wall-time timers are switched off or replaced by device-time ones).
//
// The labels appear in goroutine tracebacks only with GODEBUG=tracebacklabels=1 (Go 1.26), which
// enableTracebackLabels sets for the process; when they cannot be seen, the world keeps the
// wall-time quiet window of the external broker.

// worldLabel is the pprof label key carried by a world's goroutines.
const worldLabel = "devicejs.world"

var (
	worldSeq      atomic.Uint64
	labelsOnce    sync.Once
	labelsVisible bool
)

// enableTracebackLabels turns on goroutine labels in tracebacks for the process (appending
// tracebacklabels=1 to GODEBUG, which the Go runtime re-reads on Setenv) and reports whether a
// labelled goroutine now shows its label.
func enableTracebackLabels() bool {
	labelsOnce.Do(func() {
		if !strings.Contains(os.Getenv("GODEBUG"), "tracebacklabels=1") {
			g := os.Getenv("GODEBUG")
			if g != "" {
				g += ","
			}
			_ = os.Setenv("GODEBUG", g+"tracebacklabels=1")
		}
		pprof.Do(context.Background(), pprof.Labels(worldLabel, "probe"), func(context.Context) {
			var b [256]byte
			n := runtime.Stack(b[:], false)
			labelsVisible = bytes.Contains(b[:n], []byte(`"`+worldLabel+`": "probe"`))
		})
	})
	return labelsVisible
}

// worldScan decides from a snapshot of all goroutines whether a world's goroutines are idle.
// Used by one goroutine at a time (the test's).
type worldScan struct {
	needle []byte // `"devicejs.world": "<id>"`
	buf    []byte // the snapshot's buffer, made at the first snapshot (most worlds never take one)
	// gap is the least wall time between two snapshots: twice the last one's cost, so that
	// snapshots never take more than about a third of the time (a snapshot of 10,000
	// goroutines costs tens of milliseconds and stops the world).
	gap     time.Duration
	samples []metrics.Sample
}

func newWorldScan(id string) *worldScan {
	return &worldScan{needle: []byte(`"` + worldLabel + `": "` + id + `"`),
		gap: minScanGap, samples: []metrics.Sample{
			{Name: "/sched/goroutines/running:goroutines"}, {Name: "/sched/goroutines/runnable:goroutines"}}}
}

// minScanGap and maxScanGap bound worldScan.gap.
const (
	minScanGap = 100 * time.Microsecond
	maxScanGap = 50 * time.Millisecond
)

// processIdle reports whether the Go scheduler sees nothing running but the caller and nothing
// runnable in the whole process (runtime/metrics, Go 1.26: a read under the scheduler's lock,
// no stop-the-world). Then no goroutine of the world can be doing anything either. The counts
// are a lower bound of the work only in one respect the caller covers: a goroutine woken in
// the middle of the reading is caught by the activity and loop counters read around it.
func (s *worldScan) processIdle() bool {
	metrics.Read(s.samples)
	for _, m := range s.samples {
		if m.Value.Kind() != metrics.KindUint64 {
			return false // an older runtime: the snapshot decides
		}
	}
	return s.samples[0].Value.Uint64() <= 1 && s.samples[1].Value.Uint64() == 0
}

// skipFrames mark the goroutines a snapshot leaves out: a device loop's (its idleness is
// runtime.IdleClock's to tell) and a stopping run's backstop watch (a wall-time monitor; the
// process's heap watchdog carries no world's label at all).
var skipFrames = [][]byte{[]byte("devicejs/runtime.(*Loop).run("), []byte("devicejs/runtime.(*Loop).watchStop(")}

// busyStates are the goroutine states that mean work is being done or is about to be.
var busyStates = []string{"running", "runnable", "syscall", "semacquire", "sync.Mutex.Lock",
	"sync.RWMutex.Lock", "sync.RWMutex.RLock", "preempted", "GC assist", "copystack"}

// idle reports whether every goroutine of the world, other than the caller and the device
// loops, is blocked.
func (s *worldScan) idle() bool {
	start := time.Now()
	defer func() { s.gap = min(max(2*time.Since(start), minScanGap), maxScanGap) }()
	self := goroutineID()
	for {
		if s.buf == nil {
			s.buf = make([]byte, 64<<10)
		}
		n := runtime.Stack(s.buf, true)
		if n < len(s.buf) {
			return s.idleIn(s.buf[:n], self)
		}
		s.buf = make([]byte, 2*len(s.buf))
	}
}

// idleIn is idle on a traceback text (goroutines separated by blank lines, each headed by
// "goroutine N [state labels:{...}]:").
func (s *worldScan) idleIn(all []byte, self uint64) bool {
	for len(all) > 0 {
		block := all
		if i := bytes.Index(all, []byte("\n\n")); i >= 0 {
			block, all = all[:i], all[i+2:]
		} else {
			all = nil
		}
		head := block
		if i := bytes.IndexByte(block, '\n'); i >= 0 {
			head = block[:i]
		}
		if !bytes.Contains(head, s.needle) {
			continue
		}
		id, state, ok := parseGoroutineHead(head)
		if !ok || id == self || containsAny(block, skipFrames) {
			continue
		}
		for _, b := range busyStates {
			if strings.HasPrefix(state, b) {
				return false
			}
		}
	}
	return true
}

// parseGoroutineHead reads "goroutine 12 [chan receive, 2 minutes labels:{...}]:".
func parseGoroutineHead(h []byte) (id uint64, state string, ok bool) {
	rest, found := bytes.CutPrefix(h, []byte("goroutine "))
	if !found {
		return 0, "", false
	}
	sp := bytes.IndexByte(rest, ' ')
	if sp < 0 {
		return 0, "", false
	}
	id, err := strconv.ParseUint(string(rest[:sp]), 10, 64)
	if err != nil || len(rest) < sp+2 || rest[sp+1] != '[' {
		return 0, "", false
	}
	return id, string(rest[sp+2:]), true
}

// goroutineID is the calling goroutine's id, from its traceback header.
func goroutineID() uint64 {
	var b [64]byte
	n := runtime.Stack(b[:], false)
	id, _, _ := parseGoroutineHead(b[:n])
	return id
}

// labelWorld gives the calling goroutine (and every goroutine it starts from now on) the label
// of a new world, and returns the world's id and a function that restores ctx's labels.
func labelWorld(ctx context.Context) (id string, restore func()) {
	id = strconv.FormatUint(worldSeq.Add(1), 10)
	pprof.SetGoroutineLabels(pprof.WithLabels(ctx, pprof.Labels(worldLabel, id)))
	return id, func() { pprof.SetGoroutineLabels(ctx) }
}

func containsAny(b []byte, subs [][]byte) bool {
	for _, s := range subs {
		if bytes.Contains(b, s) {
			return true
		}
	}
	return false
}
