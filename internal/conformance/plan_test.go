package conformance

import (
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/devicejs/devicejs"
	"github.com/devicejs/devicejs/internal/testbroker"
)

// planFS is a small conformance tree: one plain and one TLS "sample", and scenario files that
// pass, fail, need the embedded broker, and do not even parse.
func planFS(files map[string]string) fstest.MapFS {
	fsys := fstest.MapFS{
		SamplesDir + "/plain.js": {Data: []byte(`print('hi plain');`)},
		SamplesDir + "/tls.js":   {Data: []byte(`// would connect to mqtts://foo.bar:8883` + "\nprint('hi tls');")},
	}
	for name, src := range files {
		fsys[TestsDir+"/"+name] = &fstest.MapFile{Data: []byte(src)}
	}
	return fsys
}

// perSample registers one test per sample with body, as the real scenario files do.
func perSample(scenario, body string) string {
	return `['plain.js', 'tls.js'].forEach(function(s) {
  test(s + ': ` + scenario + `', function() {
    var d = device.start('../samples/' + s);
    ` + body + `
  });
});`
}

// TestConformancePlanRows checks the rows a plan produces from test files: scenario names from
// the test names, the scenario order, the BROKER column, skips on a user's broker, failures with
// their message, and a file that fails outside any test.
func TestConformancePlanRows(t *testing.T) {
	fsys := planFS(map[string]string{
		"broker-up.test.js":   perSample("broker up", `world.until(function() { return d.lines().length > 0; }, 5000);`),
		"broker-down.test.js": perSample("broker down", `broker.stop(); expect(d).toHavePrinted('never printed');`),
		"zz-extra.test.js":    `this is not javascript (`,
	})
	addr := testbroker.Mochi(t).Addr()
	for _, tc := range []struct {
		name string
		plan Plan
		want []string // "scenario|sample|broker|status"
	}{
		{name: "embedded", plan: Plan{FS: fsys, Parallel: 3, Broker: "embedded"}, want: []string{
			"broker up|plain.js|embedded|PASS", "broker up|tls.js|embedded|PASS",
			"broker down|plain.js|embedded|FAIL", "broker down|tls.js|embedded|FAIL",
			"zz extra|plain.js|embedded|FAIL", "zz extra|tls.js|embedded|FAIL",
		}},
		// A user's broker: an in-process mochi on a loopback port. The "TLS" sample only prints,
		// so its --tls-broker address is shown but never dialled.
		{name: "user broker with TLS address", plan: Plan{FS: fsys, Parallel: 3, Broker: addr, TLSBroker: "127.0.0.1:2"}, want: []string{
			"broker up|plain.js|" + addr + "|PASS", "broker up|tls.js|127.0.0.1:2|PASS",
			"broker down|plain.js|" + addr + "|SKIP", "broker down|tls.js|127.0.0.1:2|SKIP",
			"zz extra|plain.js|" + addr + "|FAIL", "zz extra|tls.js|127.0.0.1:2|FAIL",
		}},
		{name: "user broker without TLS address", plan: Plan{FS: fsys, Parallel: 3, Broker: addr}, want: []string{
			"broker up|plain.js|" + addr + "|PASS", "broker up|tls.js|" + addr + "|SKIP",
			"broker down|plain.js|" + addr + "|SKIP", "broker down|tls.js|" + addr + "|SKIP",
			"zz extra|plain.js|" + addr + "|FAIL", "zz extra|tls.js|" + addr + "|SKIP",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rows, err := tc.plan.Run()
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range rows {
				got = append(got, strings.Join([]string{r.Scenario, r.Sample, r.Broker, r.Status()}, "|"))
				switch {
				case r.Status() == "FAIL" && r.Message == "":
					t.Errorf("%s %s: failed without a message", r.Scenario, r.Sample)
				case r.Status() == "FAIL" && r.Scenario == "broker down" && !strings.Contains(r.Message, "never printed"):
					t.Errorf("%s %s: message %q does not name the expectation", r.Scenario, r.Sample, r.Message)
				case r.Status() == "SKIP" && r.Skipped == "":
					t.Errorf("%s %s: skipped without a reason", r.Scenario, r.Sample)
				case r.Status() == "PASS" && r.Wall <= 0 || r.Wall > time.Minute:
					t.Errorf("%s %s: wall %v", r.Scenario, r.Sample, r.Wall)
				}
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("rows:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

// TestConformancePlanEmpty checks that a binary carrying no tests is an error, not a table of
// zero rows that passes.
func TestConformancePlanEmpty(t *testing.T) {
	for name, fsys := range map[string]fstest.MapFS{
		"no files":                 {},
		"no samples":               {TestsDir + "/a.test.js": {Data: []byte(`test('x', function() {});`)}},
		"no tests for the samples": planFS(map[string]string{"a.test.js": `test('other: x', function() {});`}),
	} {
		if _, err := (Plan{FS: fsys, Parallel: 1, Broker: "embedded"}).Run(); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// TestConformanceEmbeddedFilesPlanned checks the real embedded tree: 5 scenarios × 6 samples,
// in the documented order, with the TLS samples recognised from their source.
func TestConformanceEmbeddedFilesPlanned(t *testing.T) {
	p := Plan{FS: devicejs.ConformanceFiles, Broker: "127.0.0.1:1883", TLSBroker: "127.0.0.1:8883"}
	jobs, err := p.jobs()
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 30 {
		t.Fatalf("%d jobs, want 30", len(jobs))
	}
	for i, j := range jobs {
		if want := scenarios[i/6].name; j.row.Scenario != want {
			t.Errorf("job %d: scenario %q, want %q", i, j.row.Scenario, want)
		}
		tls := j.row.Sample == "sample2.js" || j.row.Sample == "sample3.js"
		if want := map[bool]string{false: "127.0.0.1:1883", true: "127.0.0.1:8883"}[tls]; j.row.Broker != want {
			t.Errorf("%s %s: broker %q, want %q", j.row.Scenario, j.row.Sample, j.row.Broker, want)
		}
	}
}
