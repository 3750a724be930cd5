package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"
)

// results holds every sample by workload and system, in round order.
type results struct {
	samples map[string]map[string][]sample
	fails   map[string]map[string]int
}

func newResults() *results {
	return &results{samples: map[string]map[string][]sample{}, fails: map[string]map[string]int{}}
}

func (r *results) add(w, s string, v sample) {
	if r.samples[w] == nil {
		r.samples[w] = map[string][]sample{}
	}
	r.samples[w][s] = append(r.samples[w][s], v)
}

func (r *results) fail(w, s string) {
	if r.fails[w] == nil {
		r.fails[w] = map[string]int{}
	}
	r.fails[w][s]++
}

// median of metric over the rounds of w on s; ok is false without samples.
func (r *results) median(w, s, metric string) (float64, bool) {
	var xs []float64
	for _, v := range r.samples[w][s] {
		if x, ok := v[metric]; ok {
			xs = append(xs, x)
		}
	}
	return median(xs), len(xs) > 0
}

// info is the run's context: date, machine and versions.
type info struct {
	date, machine, cpu                            string
	devicejs, goVer, node, mqttjs, paho, mosquito string
}

func collectInfo(m *mosquitto) info {
	in := info{date: time.Now().UTC().Format("2006-01-02 15:04 UTC")}
	in.machine = strings.TrimSpace(output("nproc")) + " CPUs (nproc)"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				in.cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	in.devicejs = strings.TrimSpace(output("git", "rev-parse", "--short", "HEAD"))
	if strings.TrimSpace(output("git", "status", "--porcelain", "--untracked-files=no")) != "" {
		in.devicejs += " (+ uncommitted changes)"
	}
	in.goVer = strings.TrimSpace(output("go", "env", "GOVERSION"))
	in.node = strings.TrimSpace(output("node", "--version"))
	if b, err := os.ReadFile("scripts/bench/node/node_modules/mqtt/package.json"); err == nil {
		var p struct{ Version string }
		if json.Unmarshal(b, &p) == nil {
			in.mqttjs = p.Version
		}
	}
	in.paho = strings.TrimSpace(output("go", "list", "-m", "-f", "{{.Version}}", "github.com/eclipse/paho.mqtt.golang"))
	// mosquitto -h prints its version on the first line (and exits 3).
	in.mosquito = strings.TrimSpace(strings.SplitN(output("/usr/sbin/mosquitto", "-h"), "\n", 2)[0])
	return in
}

func output(name string, args ...string) string {
	var b bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stdout = &b
	_ = cmd.Run()
	return b.String()
}

// render builds the markdown section.
func render(in info, rounds, startups int, ws []workload, ss []system, r *results) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Run %s on %s, %s. devicejs %s, %s; Node.js %s with MQTT.js %s; paho.mqtt.golang %s; %s on 127.0.0.1.\n",
		in.date, in.machine, in.cpu, in.devicejs, in.goVer, in.node, in.mqttjs, in.paho, in.mosquito)
	fmt.Fprintf(&b, "%d rounds, systems alternating within each round; medians over the rounds (startup: each round's value is the median of %d runs).\n\n", rounds, startups)
	b.WriteString("| Workload | Unit | devicejs | MQTT.js | paho | devicejs ÷ MQTT.js | devicejs ÷ paho | Target | Met |\n")
	b.WriteString("|---|---|---:|---:|---:|---:|---:|---|---|\n")
	for _, w := range ws {
		dj, okD := r.median(w.name, ss[0].name, w.metric)
		js, okJ := r.median(w.name, ss[1].name, w.metric)
		pa, okP := r.median(w.name, ss[2].name, w.metric)
		rJ, rP := "n/a", "n/a"
		met := true
		var targets []string
		if okD && okJ {
			rJ = fmt.Sprintf("%.2f×", dj/js)
		}
		if okD && okP {
			rP = fmt.Sprintf("%.2f×", dj/pa)
		}
		if w.vsMQTTjs > 0 {
			if w.higherBetter {
				targets = append(targets, fmt.Sprintf("≥ %.1f× MQTT.js", w.vsMQTTjs))
				met = met && okD && okJ && dj/js >= w.vsMQTTjs
			} else {
				targets = append(targets, fmt.Sprintf("≤ %.1f× MQTT.js", w.vsMQTTjs))
				met = met && okD && okJ && dj/js <= w.vsMQTTjs
			}
		}
		if w.vsPaho > 0 {
			targets = append(targets, fmt.Sprintf("≥ %.1f× paho", w.vsPaho))
			met = met && okD && okP && dj/pa >= w.vsPaho
		}
		metS := "yes"
		if !met {
			metS = "**no**"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", w.name, w.unit,
			num(dj, okD), num(js, okJ), num(pa, okP), rJ, rP, strings.Join(targets, ", "), metS)
	}
	b.WriteString("\nSecondary figures (medians):\n\n")
	for _, w := range ws {
		for _, m := range w.extra {
			var parts []string
			for _, s := range ss {
				v, ok := r.median(w.name, s.name, m)
				parts = append(parts, s.name+" "+num(v, ok))
			}
			fmt.Fprintf(&b, "- %s %s: %s\n", w.name, m, strings.Join(parts, ", "))
		}
	}
	b.WriteString("- devicejs has no sub-millisecond clock in the device API (`Date.now()`), so its rtt has no p50/p99.\n")
	b.WriteString("\nAll rounds (" + "primary metric, in round order):\n\n")
	for _, w := range ws {
		for _, s := range ss {
			var xs []string
			for _, v := range r.samples[w.name][s.name] {
				xs = append(xs, fmt.Sprintf("%.4g", v[w.metric]))
			}
			f := ""
			if n := r.fails[w.name][s.name]; n > 0 {
				f = fmt.Sprintf(" (%d failed)", n)
			}
			fmt.Fprintf(&b, "- %s %s: %s%s\n", w.name, s.name, strings.Join(xs, ", "), f)
		}
	}
	return b.String()
}

func num(v float64, ok bool) string {
	switch {
	case !ok:
		return "n/a"
	case v >= 1000:
		return fmt.Sprintf("%.0f", v)
	default:
		return fmt.Sprintf("%.1f", v)
	}
}

const (
	beginMarker = "<!-- bench:begin (written by `make bench`; edits inside are overwritten) -->"
	endMarker   = "<!-- bench:end -->"
)

// writeSection replaces the text between the markers in path (appending the section when
// the markers are missing).
func writeSection(path, section string) error {
	old, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	doc := string(old)
	block := beginMarker + "\n" + section + endMarker
	i, j := strings.Index(doc, beginMarker), strings.Index(doc, endMarker)
	if i >= 0 && j > i {
		doc = doc[:i] + block + doc[j+len(endMarker):]
	} else {
		if doc != "" && !strings.HasSuffix(doc, "\n\n") {
			doc += "\n"
		}
		doc += block + "\n"
	}
	return os.WriteFile(path, []byte(doc), 0o644)
}
