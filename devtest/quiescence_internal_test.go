package devtest

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/devicejs/devicejs/internal/testbroker"
)

func TestParseGoroutineHead(t *testing.T) {
	for _, tc := range []struct {
		head  string
		id    uint64
		state string
		ok    bool
	}{
		{"goroutine 12 [chan receive]:", 12, "chan receive]:", true},
		{`goroutine 7 [select, 2 minutes labels:{"devicejs.world": "3"}]:`, 7, `select, 2 minutes labels:{"devicejs.world": "3"}]:`, true},
		{"goroutine 1 [running]:", 1, "running]:", true},
		{"goroutine x [running]:", 0, "", false},
		{"goroutine 5 running", 0, "", false},
		{"goroutine 5", 0, "", false},
		{"created by main.main in goroutine 1", 0, "", false},
		{"", 0, "", false},
	} {
		id, state, ok := parseGoroutineHead([]byte(tc.head))
		if id != tc.id || state != tc.state || ok != tc.ok {
			t.Errorf("%q: %d %q %v, want %d %q %v", tc.head, id, state, ok, tc.id, tc.state, tc.ok)
		}
	}
}

// TestIdleIn: only the world's own goroutines count, the caller and device loops and heap
// watchdogs are left out, and every busy state is busy.
func TestIdleIn(t *testing.T) {
	s := newWorldScan("4")
	g := func(id int, state, label, frame string) string {
		l := ""
		if label != "" {
			l = ` labels:{"devicejs.world": "` + label + `"}`
		}
		return "goroutine " + itoa(id) + " [" + state + l + "]:\n" + frame + "(0x1)\n\t/x.go:1 +0x1\n"
	}
	idle := []string{
		g(1, "running", "4", "main.self"), // the caller
		g(2, "running", "", "main.other"), // not the world's
		g(3, "runnable", "5", "main.otherWorld"),
		g(4, "chan receive", "4", "paho.incoming"),
		g(5, "select", "4", "mochi.WriteLoop"),
		g(6, "sync.Cond.Wait", "4", "link.read"),
		g(7, "sleep", "4", "x.sleep"),
		g(8, "runnable", "4", "github.com/devicejs/devicejs/runtime.(*Loop).run"),
		g(9, "runnable", "4", "github.com/devicejs/devicejs/runtime.(*Loop).watchStop"),
		g(10, "IO wait", "4", "net.read"),
		g(11, "select (no cases)", "4", "x.block"),
		g(12, "running", "40", "main.worldForty"), // label value is exact, not a prefix
	}
	if !s.idleIn([]byte(strings.Join(idle, "\n")), 1) {
		t.Fatal("idle goroutines read as busy")
	}
	for _, st := range busyStates {
		all := append(append([]string(nil), idle...), g(99, st+", 1 minutes", "4", "mochi.process"))
		if s.idleIn([]byte(strings.Join(all, "\n")), 1) {
			t.Errorf("a goroutine in state %q read as idle", st)
		}
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

// TestWorldLabelReachesItsGoroutines: a goroutine started after labelWorld (and one started
// by that one) is the world's for a snapshot; after restore, new goroutines are not.
func TestWorldLabelReachesItsGoroutines(t *testing.T) {
	if !enableTracebackLabels() {
		t.Fatal("goroutine labels are not visible in tracebacks")
	}
	// spinUntil stays runnable (it never blocks) until stop is closed.
	spinUntil := func(stop <-chan struct{}, started chan<- struct{}) {
		close(started)
		for n := 0; ; n++ {
			if n%1024 == 0 && isClosed(stop) {
				return
			}
		}
	}
	stop1, started1 := make(chan struct{}), make(chan struct{})
	id, restore := labelWorld(context.Background())
	s := newWorldScan(id)
	go func() { go spinUntil(stop1, started1); <-stop1 }()
	restore()
	<-started1
	if s.idle() {
		t.Fatal("a spinning grandchild of the world's goroutine read as idle")
	}
	close(stop1)
	stop2, started2 := make(chan struct{}), make(chan struct{})
	defer close(stop2)
	go spinUntil(stop2, started2) // after restore: not the world's
	<-started2
	if !testbroker.Eventually(10*time.Second, s.idle) {
		t.Fatal("a goroutine started after restore counted for the world")
	}
}

// isClosed reports whether ch is closed, without blocking.
func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
