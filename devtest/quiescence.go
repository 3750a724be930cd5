package devtest

import (
	"bytes"
	"context"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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
	buf    []byte
}

func newWorldScan(id string) *worldScan {
	return &worldScan{needle: []byte(`"` + worldLabel + `": "` + id + `"`), buf: make([]byte, 64<<10)}
}

// loopFrame marks a device loop's goroutine (its idleness is runtime.IdleClock's to tell).
var loopFrame = []byte("devicejs/runtime.(*Loop).run(")

// busyStates are the goroutine states that mean work is being done or is about to be.
var busyStates = []string{"running", "runnable", "syscall", "semacquire", "sync.Mutex.Lock",
	"sync.RWMutex.Lock", "sync.RWMutex.RLock", "preempted", "GC assist", "copystack"}

// idle reports whether every goroutine of the world, other than the caller and the device
// loops, is blocked.
func (s *worldScan) idle() bool {
	self := goroutineID()
	for {
		n := runtime.Stack(s.buf, true)
		if n < len(s.buf) {
			s.buf = s.buf[:cap(s.buf)]
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
		if !ok || id == self || bytes.Contains(block, loopFrame) {
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
