package reliability

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	goruntime "runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/devicejs/devicejs/bindings"
	"github.com/devicejs/devicejs/internal/testbroker"
	"github.com/devicejs/devicejs/mqttcore"
	"github.com/devicejs/devicejs/runtime"
)

// envFloat reads a float environment variable, with a default.
func envFloat(t *testing.T, name string, def float64) float64 {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f <= 0 {
		t.Fatalf("%s=%q: want a positive number", name, v)
	}
	return f
}

type soakSample struct {
	at         time.Duration // device time since the start
	heap       uint64
	goroutines int
	fds        int
}

// TestSoak (issue 6 item 16) runs sample 5 verbatim for 16 hours of device time at time
// scale 100 (under 10 minutes of wall time), restarting the broker every 30 minutes of device
// time, and checks that heap, goroutines and file descriptors stay flat. It runs only with
// DEVICEJS_SOAK=1 (make soak); DEVICEJS_SOAK_HOURS, DEVICEJS_SOAK_SCALE and
// DEVICEJS_SOAK_BROKER (mosquitto, the default, or mochi) change it.
func TestSoak(t *testing.T) {
	if os.Getenv("DEVICEJS_SOAK") != "1" {
		t.Skip("soak: set DEVICEJS_SOAK=1 (make soak)")
	}
	hours := envFloat(t, "DEVICEJS_SOAK_HOURS", 16)
	scale := envFloat(t, "DEVICEJS_SOAK_SCALE", 100)
	start := testbroker.Mosquitto
	bname := "mosquitto"
	if os.Getenv("DEVICEJS_SOAK_BROKER") == "mochi" {
		start, bname = testbroker.Mochi, "mochi"
	}
	src, err := os.ReadFile("../../testdata/samples/sample5.js")
	if err != nil {
		t.Fatal(err)
	}
	b := start(t)
	pr := newPeer(t, b.Addr(), "testtopic/subtopic/#", 1)
	_ = pr
	device := time.Duration(hours * float64(time.Hour))
	wallLen := time.Duration(float64(device) / scale)
	restartEvery := time.Duration(float64(30*time.Minute) / scale)
	sampleEvery := wallLen / 40

	clock := runtime.NewScaledClock(scale)
	out := &lineCounter{count: map[string]int{}}
	l := runtime.New(runtime.Options{Stdout: out, Clock: clock})
	addr := b.Addr()
	hc := mqttcore.HostConfig{Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}}
	cfg := bindings.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	ctx, cancel := context.WithTimeout(context.Background(), wallLen)
	defer cancel()
	runErr := make(chan error, 1)
	go func() {
		runErr <- l.Run(ctx, "sample5.js", string(src), func(l *runtime.Loop) error {
			return bindings.Register(l, bindings.NewHost(l, hc), cfg)
		})
	}()

	t0 := clock.Now()
	var samples []soakSample
	restarts := 0
	nextRestart := time.Now().Add(restartEvery)
	nextSample := time.Now().Add(sampleEvery)
	var err2 error
loop:
	for {
		select {
		case err2 = <-runErr:
			break loop
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(nextRestart) {
			b.Restart()
			pr.subscribe()
			restarts++
			nextRestart = time.Now().Add(restartEvery)
		}
		if time.Now().After(nextSample) {
			samples = append(samples, soakSample{at: clock.Now().Sub(t0), heap: heapAfterGC(), goroutines: goruntime.NumGoroutine(), fds: openFDs(t)})
			nextSample = time.Now().Add(sampleEvery)
		}
	}
	if err2 != nil && !errors.Is(err2, context.DeadlineExceeded) {
		t.Fatalf("run: %v\noutput line counts: %v", err2, out.counts())
	}
	o := out.counts()
	ok, failed, cannot, connected := o["Publish OK"], o["Publish failed"], o["Cannot publish"], o["CONNECTED"]
	if len(samples) < 8 {
		t.Fatalf("only %d samples", len(samples))
	}
	// Flat: the last quarter against the second (the first is warm-up).
	q := len(samples) / 4
	avg := func(ss []soakSample) (h float64, g, f float64) {
		for _, s := range ss {
			h += float64(s.heap)
			g += float64(s.goroutines)
			f += float64(s.fds)
		}
		n := float64(len(ss))
		return h / n, g / n, f / n
	}
	h1, g1, f1 := avg(samples[q : 2*q])
	h2, g2, f2 := avg(samples[len(samples)-q:])
	for _, s := range samples {
		t.Logf("device %v: heap %d KiB, goroutines %d, fds %d", s.at.Round(time.Minute), s.heap>>10, s.goroutines, s.fds)
	}
	if h2-h1 > 2<<20 || g2-g1 > 5 || f2-f1 > 3 {
		t.Errorf("not flat: heap %.0f -> %.0f KiB, goroutines %.1f -> %.1f, fds %.1f -> %.1f", h1/1024, h2/1024, g1, g2, f1, f2)
	}
	if ok == 0 || connected < restarts {
		t.Errorf("%d publishes OK, %d connections for %d restarts", ok, connected, restarts)
	}
	figure(t, "soak", bname, "sample 5, %v device in %v wall (scale %g), %d broker restarts: %d CONNECTED, %d Publish OK, %d Publish failed, %d Cannot publish; heap %.0f -> %.0f KiB, goroutines %.1f -> %.1f, fds %.1f -> %.1f",
		device, wallLen, scale, restarts, connected, ok, failed, cannot, h1/1024, h2/1024, g1, g2, f1, f2)
}

// lineCounter counts the script's output lines by their text, keeping nothing else, so that
// the soak's own bookkeeping does not grow the heap it measures.
type lineCounter struct {
	mu      sync.Mutex
	partial []byte
	count   map[string]int
}

func (c *lineCounter) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.partial = append(c.partial, p...)
	for {
		i := bytes.IndexByte(c.partial, '\n')
		if i < 0 {
			break
		}
		line := string(c.partial[:i])
		if len(c.count) < 100 || c.count[line] > 0 {
			c.count[line]++
		}
		c.partial = append(c.partial[:0], c.partial[i+1:]...)
	}
	return len(p), nil
}

func (c *lineCounter) counts() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := make(map[string]int, len(c.count))
	for k, v := range c.count {
		m[k] = v
	}
	return m
}
