package conformance

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"
)

// Recorder is a T outside `go test`: it records failures, and Fatalf ends the scenario's
// goroutine (runtime.Goexit, as testing does). Safe for use from several goroutines.
type Recorder struct {
	mu       sync.Mutex
	failed   bool
	messages []string
	cleanups []func()
}

// Helper does nothing; it is part of T.
func (r *Recorder) Helper() {}

// Errorf records a failure and continues.
func (r *Recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failed = true
	r.messages = append(r.messages, fmt.Sprintf(format, args...))
}

// Fatalf records a failure and ends the calling goroutine, which must be the scenario's.
func (r *Recorder) Fatalf(format string, args ...any) {
	r.Errorf(format, args...)
	runtime.Goexit()
}

// TempDir returns a new temporary folder, removed at cleanup.
func (r *Recorder) TempDir() string {
	dir, err := os.MkdirTemp("", "devicejs-conformance")
	if err != nil {
		r.Fatalf("%v", err)
	}
	r.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// Cleanup registers f to run when the scenario ends, last registered first.
func (r *Recorder) Cleanup(f func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cleanups = append(r.cleanups, f)
}

// Failed reports whether a failure was recorded, and the messages.
func (r *Recorder) Failed() (bool, []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.failed, append([]string(nil), r.messages...)
}

func (r *Recorder) runCleanups() {
	for {
		r.mu.Lock()
		n := len(r.cleanups)
		if n == 0 {
			r.mu.Unlock()
			return
		}
		f := r.cleanups[n-1]
		r.cleanups = r.cleanups[:n-1]
		r.mu.Unlock()
		f()
	}
}

// Outcome is the result of one scenario for one sample on one broker kind.
type Outcome struct {
	Scenario string
	Sample   string
	Kind     string
	Addr     string // the broker shown in the table: Kind, or the user's TLS address for a TLS sample
	Skipped  string // why it did not run ("" = it ran)
	Failed   bool
	Messages []string // failure messages
	Wall     time.Duration
}

// broker is the BROKER column of o: Addr, or Kind when Addr is not set.
func (o Outcome) broker() string {
	if o.Addr != "" {
		return o.Addr
	}
	return o.Kind
}

// Status is "PASS", "FAIL" or "SKIP".
func (o Outcome) Status() string {
	switch {
	case o.Skipped != "":
		return "SKIP"
	case o.Failed:
		return "FAIL"
	}
	return "PASS"
}

// RunAll runs every scenario for every sample and broker kind of env, at most parallel at a
// time (at least 1), and returns the outcomes in scenario, sample, kind order.
func RunAll(env *Env, parallel int) []Outcome {
	out := planned(env)
	scenarios := map[string]Scenario{}
	for _, sc := range Scenarios() {
		scenarios[sc.Name] = sc
	}
	samples := map[string]Sample{}
	for _, s := range Samples() {
		samples[s.File] = s
	}
	sem := make(chan struct{}, max(parallel, 1))
	var wg sync.WaitGroup
	for i := range out {
		o := &out[i]
		if o.Skipped != "" {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			rec := &Recorder{}
			start := time.Now()
			done := make(chan struct{})
			go func() {
				defer close(done)
				defer rec.runCleanups()
				scenarios[o.Scenario].Run(rec, env, o.Kind, samples[o.Sample])
			}()
			<-done
			o.Wall = time.Since(start)
			o.Failed, o.Messages = rec.Failed()
		}()
	}
	wg.Wait()
	return out
}

// planned returns the outcomes RunAll will fill in, in scenario, sample, kind order, with the
// skipped ones already decided.
func planned(env *Env) []Outcome {
	var out []Outcome
	for _, sc := range Scenarios() {
		for _, s := range Samples() {
			for _, kind := range env.Kinds {
				addr := kind
				if s.TLS && env.User != nil && env.User.TLSAddr != "" {
					addr = env.User.TLSAddr // the TLS samples run on --tls-broker
				}
				out = append(out, Outcome{Scenario: sc.Name, Sample: s.File, Kind: kind, Addr: addr, Skipped: Skip(env, sc, s)})
			}
		}
	}
	return out
}

// Table formats outcomes as a fixed-width table, one row per outcome, followed by a summary
// line; failure messages and skip reasons are listed after it.
func Table(outcomes []Outcome) string {
	var b strings.Builder
	// Columns are as wide as their widest cell: a broker address such as
	// "rabbitmq.example.com:8883" no longer pushes the later columns out of line.
	wScenario, wSample, wBroker := len("SCENARIO"), len("SAMPLE"), len("BROKER")
	for _, o := range outcomes {
		wScenario, wSample, wBroker = max(wScenario, len(o.Scenario)), max(wSample, len(o.Sample)), max(wBroker, len(o.broker()))
	}
	row := fmt.Sprintf("%%-%ds %%-%ds %%-%ds %%-6s %%s\n", wScenario, wSample, wBroker)
	fmt.Fprintf(&b, row, "SCENARIO", "SAMPLE", "BROKER", "RESULT", "TIME")
	counts := map[string]int{}
	for _, o := range outcomes {
		wall := "-"
		if o.Skipped == "" {
			wall = o.Wall.Round(100 * time.Millisecond).String()
		}
		fmt.Fprintf(&b, row, o.Scenario, o.Sample, o.broker(), o.Status(), wall)
		counts[o.Status()]++
	}
	fmt.Fprintf(&b, "\n%d passed, %d failed, %d skipped\n", counts["PASS"], counts["FAIL"], counts["SKIP"])
	reasons := map[string]bool{}
	for _, o := range outcomes {
		switch {
		case o.Skipped != "" && !reasons[o.Scenario+o.Skipped]:
			reasons[o.Scenario+o.Skipped] = true
			fmt.Fprintf(&b, "skipped %s: %s\n", o.Scenario, o.Skipped)
		case o.Failed:
			fmt.Fprintf(&b, "\nFAIL %s %s %s:\n", o.Scenario, o.Sample, o.broker())
			for _, m := range o.Messages {
				fmt.Fprintf(&b, "  %s\n", strings.ReplaceAll(m, "\n", "\n  "))
			}
		}
	}
	return b.String()
}
