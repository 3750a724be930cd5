// Command fleetbench is the devicejs side of the footprint benchmark (see scripts/bench): n
// idle devices in one process, each its own runtime (runtime.New, bindings.NewHost,
// bindings.Register) running the device script idle.js, routed to one broker like
// `devicejs run --broker HOST:PORT`.
//
//	fleetbench -addr 127.0.0.1:1883 -script scripts/bench/device/idle.js -n 1000
//
// It prints "RESULT rss_base_kb=B rss_kb=R clients=N" once every device printed "connected"
// (plus two seconds to settle), then cancels the runs.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/devicejs/devicejs/bindings"
	"github.com/devicejs/devicejs/mqttcore"
	"github.com/devicejs/devicejs/runtime"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:1883", "broker HOST:PORT every connection goes to")
	script := flag.String("script", "scripts/bench/device/idle.js", "device script each runtime runs")
	n := flag.Int("n", 1000, "number of devices")
	flag.Parse()
	if err := run(*addr, *script, *n); err != nil {
		fmt.Fprintln(os.Stderr, "FAIL", err)
		os.Exit(1)
	}
}

// deviceOut is one device's print() output: it reports "connected" once and any other line.
type deviceOut struct {
	mu        sync.Mutex
	buf       bytes.Buffer
	connected chan<- struct{}
	other     chan<- string
}

func (w *deviceOut) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	for {
		line, err := w.buf.ReadString('\n')
		if err != nil {
			w.buf.WriteString(line)
			break
		}
		if line == "connected\n" {
			w.connected <- struct{}{}
		} else {
			w.other <- strings.TrimSpace(line)
		}
	}
	return len(p), nil
}

func run(addr, scriptPath string, n int) error {
	src, err := os.ReadFile(scriptPath)
	if err != nil {
		return err
	}
	base, err := rssKB()
	if err != nil {
		return err
	}
	var d net.Dialer
	dial := func(ctx context.Context, network, _ string) (net.Conn, error) {
		return d.DialContext(ctx, network, addr)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	connected := make(chan struct{}, n)
	other := make(chan string, n)
	var wg sync.WaitGroup
	for range n {
		loop := runtime.New(runtime.Options{Stdout: &deviceOut{connected: connected, other: other}})
		host := bindings.NewHost(loop, mqttcore.HostConfig{Limits: mqttcore.DeviceLimits(), Dial: dial})
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := loop.Run(ctx, scriptPath, string(src), func(l *runtime.Loop) error {
				return bindings.Register(l, host, bindings.Config{})
			})
			if err != nil && ctx.Err() == nil {
				other <- "run: " + err.Error()
			}
		}()
	}
	timeout := time.After(60 * time.Second)
	for i := 0; i < n; {
		select {
		case <-connected:
			i++
		case line := <-other:
			return fmt.Errorf("device: %s", line)
		case <-timeout:
			return fmt.Errorf("only %d of %d devices connected", i, n)
		}
	}
	time.Sleep(2 * time.Second)
	rss, err := rssKB()
	if err != nil {
		return err
	}
	fmt.Printf("RESULT rss_base_kb=%d rss_kb=%d clients=%d\n", base, rss, n)
	cancel()
	wg.Wait()
	return nil
}

// rssKB is VmRSS of this process, in KiB (Linux).
func rssKB() (int, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			return strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/self/status")
}
