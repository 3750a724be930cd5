// Command devprofile measures what an idle device costs: it runs N idle devices (default
// scripts/bench/device/idlesub.js: connect with keepalive 600, subscribe one topic) in one
// process exactly as `devicejs fleet` does (fleet.New, the embedded broker reached in memory,
// or -broker HOST:PORT), waits until every one printed "connected", collects, and prints per
// device: the live heap, heap in use, goroutine stacks, goroutines (grouped by the function
// that created them) and VmRSS, each against a reading taken before the first device. With
// -memprofile it writes a heap profile taken at MemProfileRate 1 (every allocation), to be read
// with `go tool pprof -sample_index=inuse_space -top`. docs/performance.md ("What an idle
// device is made of") reports its figures.
//
//	go run ./scripts/bench/devprofile -n 1000 -memprofile /tmp/heap.pprof
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	goruntime "runtime"
	"runtime/debug"
	"runtime/pprof"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/devicejs/devicejs"
	"github.com/devicejs/devicejs/broker"
	"github.com/devicejs/devicejs/fleet"
)

func main() {
	n := flag.Int("n", 1000, "devices")
	script := flag.String("script", "scripts/bench/device/idlesub.js", "device script")
	addr := flag.String("broker", "", "HOST:PORT of an external broker; empty: the embedded broker in memory")
	memprofile := flag.String("memprofile", "", "write a heap profile (MemProfileRate 1) here")
	maxMemory := flag.Int64("max-memory", 0, "the fleet's heap budget in bytes (fleet.Config.MaxMemory: the memory guards in every device, "+
		"as devicejs fleet sets by default); 0: none")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the start (until every device is connected) here")
	flag.DurationVar(&hold, "hold", 0, "keep the devices connected this long after the report (e.g. to read their stacks: "+
		"GOTRACEBACK=crash and SIGQUIT print each frame's sp)")
	flag.Parse()
	if *cpuprofile != "" {
		pf, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "devprofile:", err)
			os.Exit(1)
		}
		if err := pprof.StartCPUProfile(pf); err != nil {
			fmt.Fprintln(os.Stderr, "devprofile:", err)
			os.Exit(1)
		}
	}
	if *memprofile != "" {
		goruntime.MemProfileRate = 1
	}
	if err := run(*n, *script, *addr, *memprofile, *maxMemory); err != nil {
		fmt.Fprintln(os.Stderr, "devprofile:", err)
		os.Exit(1)
	}
}

// hold is how long the devices stay connected after the report (-hold).
var hold time.Duration

// reading is one measurement of the process.
type reading struct {
	heapAlloc, heapInuse, stackInuse, other, rss uint64
	goroutines                                   int
}

func read() reading {
	for range 3 {
		goruntime.GC()
	}
	debug.FreeOSMemory()
	var ms goruntime.MemStats
	goruntime.ReadMemStats(&ms)
	return reading{
		heapAlloc: ms.HeapAlloc, heapInuse: ms.HeapInuse, stackInuse: ms.StackInuse,
		other: ms.MSpanInuse + ms.MCacheInuse + ms.GCSys + ms.BuckHashSys + ms.OtherSys,
		rss:   fleet.ReadRSS(), goroutines: goruntime.NumGoroutine(),
	}
}

// lineWriter counts the lines containing "connected" and reports failures.
type lineWriter struct {
	connected atomic.Int64
	failed    atomic.Int64
	first     atomic.Value
}

func (w *lineWriter) Write(p []byte) (int, error) {
	for _, line := range bytes.Split(p, []byte("\n")) {
		switch {
		case bytes.Contains(line, []byte("FAIL")):
			w.failed.Add(1)
			w.first.CompareAndSwap(nil, string(line))
		case bytes.HasSuffix(line, []byte("connected")):
			w.connected.Add(1)
		}
	}
	return len(p), nil
}

func run(n int, path, addr, memprofile string, maxMemory int64) error {
	script, err := devicejs.ScriptFile(path)
	if err != nil {
		return err
	}
	dev := devicejs.Config{}
	var br *broker.Broker
	if addr != "" {
		dev.Broker = addr
	} else {
		// As `devicejs fleet --broker embedded` (cmd/devicejs/cli/fleet.go: fleetBrokerQueue).
		br, err = broker.New(broker.Config{MaxPendingWrites: 1024})
		if err != nil {
			return err
		}
		if err := br.Start(); err != nil {
			return err
		}
		defer br.Close()
		dev.Embedded = br
	}
	before := read()
	out := &lineWriter{}
	f, err := fleet.New(fleet.Config{N: n, Script: script, Device: dev, ClientID: "prof-{i}", Stdout: out, MaxMemory: maxMemory})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	start := time.Now()
	go func() { _, err := f.Run(ctx); done <- err }()
	deadline := start.Add(5 * time.Minute)
	for out.connected.Load() < int64(n) && out.failed.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if out.failed.Load() > 0 || out.connected.Load() < int64(n) {
		return fmt.Errorf("%d of %d connected, %d failed (%v)", out.connected.Load(), n, out.failed.Load(), out.first.Load())
	}
	all := time.Since(start)
	pprof.StopCPUProfile()  // no-op without -cpuprofile
	time.Sleep(time.Second) // the fleet's own start-up work settles
	after := read()
	if memprofile != "" {
		pf, err := os.Create(memprofile)
		if err != nil {
			return err
		}
		if err := pprof.Lookup("heap").WriteTo(pf, 0); err != nil {
			return err
		}
		pf.Close()
	}
	groups := goroutineGroups()
	per := func(a, b uint64) float64 { return (float64(a) - float64(b)) / float64(n) }
	fmt.Printf("devices %d (%s, max memory %d), all connected in %.2fs\n", n, brokerName(addr), maxMemory, all.Seconds())
	fmt.Printf("per device (bytes): heap live %.0f, heap in use %.0f, stacks %.0f, runtime metadata %.0f, RSS %.0f\n",
		per(after.heapAlloc, before.heapAlloc), per(after.heapInuse, before.heapInuse),
		per(after.stackInuse, before.stackInuse), per(after.other, before.other), per(after.rss, before.rss))
	fmt.Printf("process RSS before the first device %d KB, after %d KB\n", before.rss/1000, after.rss/1000)
	fmt.Printf("goroutines per device %.2f (%d before, %d after)\n",
		float64(after.goroutines-before.goroutines)/float64(n), before.goroutines, after.goroutines)
	for _, g := range groups {
		if g.count >= n/2 {
			fmt.Printf("  %.2f per device: %s\n", float64(g.count)/float64(n), g.key)
		}
	}
	time.Sleep(hold)
	cancel()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
	}
	return nil
}

func brokerName(addr string) string {
	if addr == "" {
		return "embedded broker, in memory"
	}
	return addr
}

type group struct {
	key   string
	count int
}

// goroutineGroups counts the goroutines by their top frame's function and the function that
// created them.
func goroutineGroups() []group {
	buf := make([]byte, 64<<20)
	buf = buf[:goruntime.Stack(buf, true)]
	counts := map[string]int{}
	for _, g := range strings.Split(string(buf), "\n\n") {
		lines := strings.Split(g, "\n")
		if len(lines) < 2 {
			continue
		}
		top := funcName(lines[1])
		created := ""
		for _, l := range lines {
			if strings.HasPrefix(l, "created by ") {
				created = strings.TrimPrefix(l, "created by ")
				if j := strings.Index(created, " in goroutine"); j >= 0 {
					created = created[:j]
				}
			}
		}
		counts[top+" (created by "+created+")"]++
	}
	var out []group
	for k, v := range counts {
		out = append(out, group{k, v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].count > out[j].count })
	return out
}

func funcName(line string) string {
	if i := strings.LastIndex(line, "("); i > 0 {
		return line[:i]
	}
	return line
}
