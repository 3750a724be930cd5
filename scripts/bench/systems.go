package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"time"
)

// runTimeout bounds one benchmark process.
const runTimeout = 2 * time.Minute

// system is one of the three things compared; cmd gives the command line of a workload.
type system struct {
	name string
	cmd  func(workload string) []string
}

func newSystems(bins map[string]string, addr string) []system {
	host, port, _ := net.SplitHostPort(addr)
	return []system{
		{"devicejs", func(w string) []string {
			if w == "footprint" {
				return []string{bins["devicejs"], "fleet", "-n", strconv.Itoa(footprintDevices), "--broker", addr,
					"--client-id", "djs-fp-{i}", "scripts/bench/device/idle.js"}
			}
			return []string{bins["devicejs"], "run", "--broker", addr, "scripts/bench/device/" + w + ".js"}
		}},
		{"MQTT.js", func(w string) []string {
			return []string{"node", "scripts/bench/node/bench.js", w, host, port}
		}},
		{"paho", func(w string) []string {
			return []string{bins["pahobench"], "-addr", addr, "-workload", w}
		}},
	}
}

// sample is what one measurement gives: metric name -> value.
type sample map[string]float64

func (s sample) String() string {
	keys := make([]string, 0, len(s))
	for k := range s {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s=%.1f", k, s[k])
	}
	return b.String()
}

// workload is one benchmark; metric is the value the targets compare.
type workload struct {
	name, metric, unit string
	higherBetter       bool
	// target ratios of devicejs to the others (0: none); see issue 5.
	vsMQTTjs, vsPaho float64
	extra            []string // secondary metrics shown below the table
	desc             string
}

var allWorkloads = []workload{
	{name: "qos0", metric: "msgs_per_s", unit: "msg/s", higherBetter: true, vsMQTTjs: 1.0, vsPaho: 0.9,
		desc: "20,000 chained QoS 0 publishes (64 B) to a subscribed topic, until all came back"},
	{name: "qos1", metric: "msgs_per_s", unit: "msg/s", higherBetter: true, vsMQTTjs: 1.0, vsPaho: 0.9,
		desc: "10,000 chained QoS 1 publishes, same shape"},
	{name: "rtt", metric: "mean_us", unit: "µs", vsMQTTjs: 0.8, extra: []string{"p50_us", "p99_us"},
		desc: "2,000 sequential publish → own-message round trips (QoS 0), mean"},
	{name: "startup", metric: "wall_ms", unit: "ms", vsMQTTjs: 0.1,
		desc: "process wall time exec → CONNACK → exit"},
	{name: "footprint", metric: "kb_per_device", unit: "KB/device", vsMQTTjs: 0.5, extra: []string{"delta_kb_per_device"},
		desc: "1,000 idle connected devices in one process (devicejs: `devicejs fleet`): RSS ÷ 1,000"},
}

func selectWorkloads(only string) []workload {
	if only == "" {
		return allWorkloads
	}
	var ws []workload
	for _, w := range allWorkloads {
		for _, name := range strings.Split(only, ",") {
			if strings.TrimSpace(name) == w.name {
				ws = append(ws, w)
			}
		}
	}
	return ws
}

// measure runs w once on s (startup: n times, keeping the median wall time).
func (w workload) measure(s system, n int) (sample, error) {
	switch w.name {
	case "startup":
		var ms []float64
		for range n {
			_, wall, err := runBench(s.cmd(w.name))
			if err != nil {
				return nil, err
			}
			ms = append(ms, float64(wall.Microseconds())/1e3)
		}
		return sample{"wall_ms": median(ms)}, nil
	case "footprint":
		if s.name == "devicejs" {
			kb, err := fleetRSS(s.cmd(w.name))
			if err != nil {
				return nil, err
			}
			return sample{"kb_per_device": kb * 1.024 / footprintDevices}, nil
		}
		kv, _, err := runBench(s.cmd(w.name))
		if err != nil {
			return nil, err
		}
		n := kv["clients"]
		if n <= 0 || kv["rss_kb"] <= 0 {
			return nil, fmt.Errorf("bad footprint result %v", kv)
		}
		return sample{
			"kb_per_device":       kv["rss_kb"] * 1.024 / n, // KiB -> KB
			"delta_kb_per_device": (kv["rss_kb"] - kv["rss_base_kb"]) * 1.024 / n,
		}, nil
	}
	kv, _, err := runBench(s.cmd(w.name))
	if err != nil {
		return nil, err
	}
	if _, ok := kv[w.metric]; !ok {
		return nil, fmt.Errorf("no %s in the result", w.metric)
	}
	return kv, nil
}

// footprintDevices is the number of idle devices of the footprint workload.
const footprintDevices = 1000

// fleetRSS runs `devicejs fleet` with the idle script, waits until every instance printed
// "connected" (plus two seconds to settle), reads the process's VmRSS (KiB) and interrupts it.
func fleetRSS(argv []string) (float64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return 0, err
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	defer func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait() // exits 130 on SIGINT
	}()
	sc := bufio.NewScanner(out)
	connected := 0
	for connected < footprintDevices && sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasSuffix(line, "] connected"):
			connected++
		case strings.Contains(line, "FAIL"), strings.HasSuffix(line, "] closed"):
			return 0, fmt.Errorf("%s", line)
		}
	}
	if connected < footprintDevices {
		return 0, fmt.Errorf("only %d of %d devices connected: %s", connected, footprintDevices, strings.TrimSpace(stderr.String()))
	}
	go func() { _, _ = io.Copy(io.Discard, out) }()
	time.Sleep(2 * time.Second)
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			return strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
		}
	}
	return 0, fmt.Errorf("no VmRSS for the fleet process")
}

// runBench runs one benchmark process and parses its "RESULT k=v ..." line.
func runBench(argv []string) (sample, time.Duration, error) {
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if err != nil {
		return nil, wall, fmt.Errorf("%v: %s %s", err, strings.TrimSpace(stdout.String()), strings.TrimSpace(stderr.String()))
	}
	kv := sample{}
	for _, line := range strings.Split(stdout.String(), "\n") {
		if strings.HasPrefix(line, "FAIL") {
			return nil, wall, fmt.Errorf("%s", line)
		}
		rest, ok := strings.CutPrefix(line, "RESULT ")
		if !ok {
			continue
		}
		for _, f := range strings.Fields(rest) {
			k, v, _ := strings.Cut(f, "=")
			x, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return nil, wall, fmt.Errorf("bad result field %q", f)
			}
			kv[k] = x
		}
	}
	return kv, wall, nil
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
