package fleet_test

import (
	"context"
	"os"
	goruntime "runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/devicejs/devicejs"
	"github.com/devicejs/devicejs/broker"
	"github.com/devicejs/devicejs/fleet"
)

// envInt reads an integer benchmark parameter.
func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return v
	}
	return def
}

// cpuTime is the process's user+system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkFleetSample5 runs FLEET_N (default 1000) instances of testdata/samples/sample5.js,
// verbatim, against the embedded broker over in-memory connections (or FLEET_BROKER=HOST:PORT),
// and reports the time to connect all, resident memory per instance (KiB/instance: the
// summary's rss_bytes, after the fleet's GC; KiB/instance-raw: VmRSS the moment all were
// connected, start-up garbage included) and the CPU used while idle (FLEET_IDLE seconds,
// default 10, starting 2 s after all connected). Sample 5's 15 s interval publishes
// to a topic every instance subscribes to (N² deliveries per tick), so the device clock runs at
// FLEET_SCALE (default 0.1) to keep the first tick out of the idle window. One iteration is the
// whole measurement: run with -benchtime=1x. FLEET_QUEUE sets the embedded broker's
// MaxPendingWrites (default 1024, as devicejs fleet); FLEET_CPUPROFILE profiles the idle window. docs/fleet.md and docs/performance.md ("Fleet")
// report its figures.
func BenchmarkFleetSample5(b *testing.B) {
	n := envInt("FLEET_N", 1000)
	idle := time.Duration(envInt("FLEET_IDLE", 10)) * time.Second
	scale := 0.1
	if v, err := strconv.ParseFloat(os.Getenv("FLEET_SCALE"), 64); err == nil {
		scale = v
	}
	script, err := devicejs.ScriptFile("../testdata/samples/sample5.js")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		dev := devicejs.Config{TimeScale: scale}
		if addr := os.Getenv("FLEET_BROKER"); addr != "" {
			dev.Broker = addr
		} else {
			br, err := broker.New(broker.Config{MaxPendingWrites: envInt("FLEET_QUEUE", 1024)})
			if err != nil {
				b.Fatal(err)
			}
			if err := br.Start(); err != nil {
				b.Fatal(err)
			}
			defer br.Close()
			dev.Embedded = br // as devicejs fleet --broker embedded: the in-memory route
		}
		f, err := fleet.New(fleet.Config{N: n, Script: script, Device: dev, ClientID: "bench-{i}"})
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		type out struct {
			s   fleet.Summary
			err error
		}
		done := make(chan out, 1)
		go func() { s, err := f.Run(ctx); done <- out{s, err} }()
		start := time.Now()
		deadline := start.Add(10 * time.Minute)
		for f.Progress().Connected < n && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		connectAll := time.Since(start)
		rss := fleet.ReadRSS()
		var ms goruntime.MemStats
		goruntime.ReadMemStats(&ms)
		b.Logf("at all connected: heap in use %d MiB, stacks %d MiB, goroutines %d",
			ms.HeapInuse>>20, ms.StackInuse>>20, goruntime.NumGoroutine())
		if os.Getenv("FLEET_GC") != "" {
			for range 3 {
				goruntime.GC()
			}
			debug.FreeOSMemory()
			goruntime.ReadMemStats(&ms)
			b.Logf("after GC: heap in use %d MiB, stacks %d MiB, rss %d MiB", ms.HeapInuse>>20, ms.StackInuse>>20, fleet.ReadRSS()>>20)
			if p := os.Getenv("FLEET_HEAPPROFILE"); p != "" {
				hf, err := os.Create(p)
				if err != nil {
					b.Fatal(err)
				}
				pprof.Lookup("heap").WriteTo(hf, 0)
				hf.Close()
			}
		}
		if p := os.Getenv("FLEET_CPUPROFILE"); p != "" { // the idle window only
			pf, err := os.Create(p)
			if err != nil {
				b.Fatal(err)
			}
			pprof.StartCPUProfile(pf)
			defer pf.Close()
		}
		time.Sleep(2 * time.Second) // the fleet's own memory reading (a GC) finishes first
		c0, t0 := cpuTime(), time.Now()
		time.Sleep(idle)
		pprof.StopCPUProfile() // no-op without FLEET_CPUPROFILE
		idleCPU := float64(cpuTime()-c0) / float64(time.Since(t0))
		p := f.Progress()
		cancel()
		o := <-done
		if o.err != nil {
			b.Fatal(o.err)
		}
		b.ReportMetric(float64(n), "instances")
		b.ReportMetric(float64(p.Connected), "connected")
		b.ReportMetric(connectAll.Seconds(), "connect-all-s")
		b.ReportMetric(float64(rss)/1024/float64(n), "KiB/instance-raw")
		b.ReportMetric(float64(o.s.RSSBytes)/1024/float64(n), "KiB/instance")
		b.ReportMetric(float64(o.s.Goroutines)/float64(n), "goroutines/instance")
		b.ReportMetric(idleCPU*100, "idle-cpu-%")
		b.ReportMetric(o.s.ConnectLatencyMS.P50, "p50-ms")
		b.ReportMetric(o.s.ConnectLatencyMS.P99, "p99-ms")
		b.Logf("summary: rss %d, goroutines %d, all connected %.2fs, p50 %.1fms p99 %.1fms, errors %v, received %d",
			o.s.RSSBytes, o.s.Goroutines, o.s.AllConnectedSeconds, o.s.ConnectLatencyMS.P50, o.s.ConnectLatencyMS.P99, o.s.Errors, o.s.Received)
	}
}
