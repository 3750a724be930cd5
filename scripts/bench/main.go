// Command bench is the devicejs benchmark harness (`make bench`; issue 5, docs/performance.md).
//
// It builds the devicejs binary and the two Go bench programs, installs MQTT.js from the lock
// file (npm ci), starts one mosquitto on a free loopback port and runs every workload for the
// three systems, alternating them round by round (devicejs, MQTT.js, paho, devicejs, …) so
// that machine drift cancels. It then writes the medians and ratios as a markdown table into
// docs/performance.md, between the bench markers, with the date, machine and versions.
//
//	go run ./scripts/bench [-rounds 5] [-out docs/performance.md] [-update-baseline]
//
// devicejs's footprint (KB per idle device) and startup figures are compared with
// scripts/bench/baseline.json: more than 10 % over it and the command exits 1 after writing
// its table (baseline.go).
//
// Run it from the repository root.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

func main() {
	rounds := flag.Int("rounds", 5, "rounds per workload (each runs every system once)")
	startups := flag.Int("startups", 5, "startup runs per system and round (the round's value is their median)")
	out := flag.String("out", "docs/performance.md", "markdown file whose bench section is replaced")
	only := flag.String("workloads", "", "comma-separated subset of workloads (default all)")
	update := flag.Bool("update-baseline", false, "write this run's devicejs footprint and startup figures to "+baselineFile+" instead of checking them")
	flag.Parse()
	if err := run(*rounds, *startups, *out, *only, *update); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(rounds, startups int, out, only string, updateBaseline bool) error {
	if rounds < 1 || startups < 1 {
		return errors.New("-rounds and -startups must be at least 1")
	}
	tmp, err := os.MkdirTemp("", "devicejs-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	logf("building devicejs and pahobench")
	bins := map[string]string{
		"devicejs":  "./cmd/devicejs",
		"pahobench": "./scripts/bench/pahobench",
	}
	// built as `make build` builds devicejs: static (CGO_ENABLED=0), pahobench the same way
	if err := os.Setenv("CGO_ENABLED", "0"); err != nil {
		return err
	}
	for name, pkg := range bins {
		bin := filepath.Join(tmp, name)
		if err := runCmd(5*time.Minute, "", "go", "build", "-o", bin, pkg); err != nil {
			return err
		}
		bins[name] = bin
	}
	logf("installing MQTT.js (npm ci)")
	if err := runCmd(5*time.Minute, "scripts/bench/node", "npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"); err != nil {
		return err
	}

	broker, err := startMosquitto(tmp)
	if err != nil {
		return err
	}
	defer broker.stop()
	logf("mosquitto on %s", broker.addr)

	systems := newSystems(bins, broker.addr)
	workloads := selectWorkloads(only)
	res := newResults()
	for r := 1; r <= rounds; r++ {
		for _, w := range workloads {
			for _, s := range systems {
				v, err := w.measure(s, startups)
				if err != nil {
					logf("round %d %s %s: %v", r, w.name, s.name, err)
					res.fail(w.name, s.name)
					continue
				}
				logf("round %d %s %s: %s", r, w.name, s.name, v)
				res.add(w.name, s.name, v)
			}
		}
	}
	info := collectInfo(broker)
	table := render(info, rounds, startups, workloads, systems, res)
	fmt.Println(table)
	if err := writeSection(out, table); err != nil {
		return err
	}
	got := devicejsFigures(res)
	if updateBaseline {
		logf("writing %s", baselineFile)
		return writeBaseline(baselineFile, got, fmt.Sprintf("devicejs medians of %d rounds, %s, %s, %s", rounds, info.date, info.machine, info.devicejs))
	}
	b, err := readBaseline(baselineFile)
	if err != nil {
		return fmt.Errorf("baseline: %w (write one with -update-baseline)", err)
	}
	lines, err := checkBaseline(b, got)
	for _, l := range lines {
		fmt.Println(l)
	}
	return err
}

// mosquitto is the broker every system talks to.
type mosquitto struct {
	addr string
	cmd  *exec.Cmd
}

func startMosquitto(dir string) (*mosquitto, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	conf := filepath.Join(dir, "mosquitto.conf")
	body := fmt.Sprintf("listener %d 127.0.0.1\nallow_anonymous true\npersistence false\nmax_connections -1\nlog_dest none\n", port)
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		return nil, err
	}
	cmd := exec.Command("/usr/sbin/mosquitto", "-c", conf)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	m := &mosquitto{addr: fmt.Sprintf("127.0.0.1:%d", port), cmd: cmd}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if c, err := net.DialTimeout("tcp", m.addr, time.Second); err == nil {
			c.Close()
			return m, nil
		}
	}
	m.stop()
	return nil, errors.New("mosquitto did not start listening within 10 s")
}

func (m *mosquitto) stop() {
	_ = m.cmd.Process.Kill()
	_ = m.cmd.Wait()
}

// runCmd runs a setup command with its output on ours.
func runCmd(timeout time.Duration, dir, name string, args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err)
	}
	return nil
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}
