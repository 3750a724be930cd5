// Package conformance is the engine of `devicejs conformance`: it plans every scenario file of
// the conformance tree (devicejs.ConformanceFiles) for every documented sample, runs them with
// package devtest on embedded brokers or the user's, and formats the pass/fail table. The CLI
// holds only the command's flags and output.
package conformance

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/devicejs/devicejs"
	"github.com/devicejs/devicejs/devtest"
)

// The folders of devicejs.ConformanceFiles: the scenario files and the samples.
const (
	TestsDir   = "testdata/conformance"
	SamplesDir = "testdata/samples"
)

// scenarios names the scenario of each conformance file, in the order of the table
// (the order of docs/conformance.md). A file not listed here still runs, after these, under
// its base name with dashes read as spaces.
var scenarios = []struct{ file, name string }{
	{"broker-up.test.js", "broker up"},
	{"broker-down.test.js", "broker down"},
	{"broker-restart.test.js", "broker restart"},
	{"wrong-password.test.js", "wrong password"},
	{"wrong-ca.test.js", "wrong CA"},
}

// samplePeerLogin is the login the world's peer clients use on the user's broker for a sample
// that logs in itself (sample 3 sends foo/foobar): a broker that admits that user admits the
// peer that publishes to the sample. Other samples' peers connect anonymously.
var samplePeerLogin = map[string][2]string{"sample3.js": {"foo", "foobar"}}

// Plan is one `devicejs conformance` run: every scenario file for every sample.
type Plan struct {
	FS        fs.FS  // the conformance tree: TestsDir and SamplesDir
	Parallel  int    // scenarios run at once on embedded brokers (1 on the user's broker)
	Broker    string // "embedded" or the user's HOST:PORT
	TLSBroker string // the user's TLS HOST:PORT ("" = none)
	TLS       devicejs.TLS
}

// job is one scenario for one sample: a devtest run of one file with only that
// sample's test selected, so that --parallel counts scenarios as it always has.
type job struct {
	file string
	row  Row
}

// Run plans the jobs, runs those that are not skipped Parallel at a time (one at a time on the
// user's broker), and returns the table's rows in scenario, sample order.
func (p Plan) Run() ([]Row, error) {
	jobs, err := p.jobs()
	if err != nil {
		return nil, err
	}
	n := max(p.Parallel, 1)
	if p.Broker != "embedded" {
		// Every scenario on the user's broker shares its topics (samples 1-3 publish to the
		// same one): a peer of one scenario would see another's publishes, so they run one at
		// a time. On embedded brokers each scenario has its own.
		n = 1
	}
	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	rows := make([][]Row, len(jobs))
	for i, j := range jobs {
		if j.row.Skipped != "" {
			rows[i] = []Row{j.row}
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			rows[i] = p.runJob(j)
		}()
	}
	wg.Wait()
	var out []Row
	for _, r := range rows {
		out = append(out, r...)
	}
	if len(out) == 0 {
		return nil, errors.New("no conformance scenario ran: the binary carries no test for the samples")
	}
	return out, nil
}

// jobs lists every scenario file × sample, in table order, with the TLS samples skipped on a
// user's broker given no --tls-broker.
func (p Plan) jobs() ([]job, error) {
	files, err := fs.Glob(p.FS, TestsDir+"/*.test.js")
	if err != nil {
		return nil, err
	}
	samples, err := fs.Glob(p.FS, SamplesDir+"/*.js")
	if err != nil {
		return nil, err
	}
	if len(files) == 0 || len(samples) == 0 {
		return nil, fmt.Errorf("the binary carries %d conformance files and %d samples", len(files), len(samples))
	}
	sort.SliceStable(files, func(a, b int) bool { return scenarioRank(files[a]) < scenarioRank(files[b]) })
	var jobs []job
	for _, f := range files {
		for _, s := range samples {
			row := Row{Scenario: scenarioName(f), Sample: path.Base(s), Broker: p.Broker}
			if p.Broker != "embedded" {
				src, err := fs.ReadFile(p.FS, s)
				if err != nil {
					return nil, err
				}
				switch tls := strings.Contains(string(src), "mqtts://"); {
				case tls && p.TLSBroker == "":
					row.Skipped = "TLS sample: no --tls-broker given"
				case tls:
					row.Broker = p.TLSBroker
				}
			}
			jobs = append(jobs, job{file: f, row: row})
		}
	}
	return jobs, nil
}

// runJob runs the job's file with only its sample's test selected. A file with several tests
// for the sample gives a row per test; a file that fails outside any test gives a failed row.
func (p Plan) runJob(j job) []Row {
	opts := devtest.Options{FS: p.FS, Run: regexp.MustCompile("^" + regexp.QuoteMeta(j.row.Sample) + ": ")}
	if p.Broker != "embedded" {
		opts.Broker, opts.TLSBroker, opts.TLS = p.Broker, p.TLSBroker, p.TLS
		if l, ok := samplePeerLogin[j.row.Sample]; ok {
			opts.PeerUser, opts.PeerPass = l[0], l[1]
		}
	}
	res := devtest.RunFile(context.Background(), j.file, opts)
	var rows []Row
	for _, t := range res.Tests {
		r := j.row
		if _, name, ok := strings.Cut(t.Name, ": "); ok && name != "" {
			r.Scenario = name
		}
		r.Wall = t.Wall
		switch t.Status {
		case devtest.Skipped:
			r.Skipped = t.Message
		case devtest.Failed:
			r.Failed, r.Message = true, t.Message
		}
		rows = append(rows, r)
	}
	if res.Err != nil {
		r := j.row
		r.Failed, r.Message, r.Wall = true, res.Err.Error(), res.Wall
		rows = append(rows, r)
	}
	return rows
}

// scenarioRank is the place of a conformance file in the table.
func scenarioRank(file string) int {
	for i, s := range scenarios {
		if s.file == path.Base(file) {
			return i
		}
	}
	return len(scenarios)
}

// scenarioName is the SCENARIO cell of a conformance file whose test did not run.
func scenarioName(file string) string {
	base := path.Base(file)
	for _, s := range scenarios {
		if s.file == base {
			return s.name
		}
	}
	return strings.ReplaceAll(strings.TrimSuffix(base, ".test.js"), "-", " ")
}
