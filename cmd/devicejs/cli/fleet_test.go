package cli_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/devicejs/devicejs/cmd/devicejs/cli"
	"github.com/devicejs/devicejs/fleet"
)

// parseFleet runs `fleet` flag parsing with a runF that captures the options.
func parseFleet(t *testing.T, args ...string) (*cli.FleetOptions, error) {
	t.Helper()
	ios := &cli.IOStreams{Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}}
	var got *cli.FleetOptions
	cmd := cli.NewCmdFleet(ios, func(o *cli.FleetOptions) error { got = o; return nil })
	cmd.SetArgs(args)
	cmd.SetOut(ios.Out)
	cmd.SetErr(ios.ErrOut)
	err := cmd.Execute()
	return got, err
}

func TestNewCmdFleet(t *testing.T) {
	t.Setenv(fleet.CompletionIndexEnv, "5")
	tt := []struct {
		name  string
		args  []string
		ok    bool
		check func(*cli.FleetOptions) bool
	}{
		{"minimal", []string{"-n", "3", "d.js"}, true, func(o *cli.FleetOptions) bool {
			return o.N == 3 && o.ScriptPath == "d.js" && o.TimeScale == 1 && o.Shard == (fleet.Shard{}) && !o.Quiet
		}},
		{"all flags", []string{"--instances", "100", "--client-id", "dev-{i}", "--ramp", "30s", "-q",
			"--summary-json", "s.json", "--shard", "2/8", "--broker", "embedded", "--for", "1m",
			"--time-scale", "10", "--timeout", "5m", "--ssl-ca", "ca.pem", "--ssl-cert", "c.pem", "--ssl-key", "k.pem", "d.js"}, true,
			func(o *cli.FleetOptions) bool {
				return o.N == 100 && o.ClientID == "dev-{i}" && o.Ramp == 30*time.Second && o.Quiet &&
					o.SummaryJSON == "s.json" && o.Shard == (fleet.Shard{Index: 2, Count: 8}) && o.Broker == "embedded" &&
					o.For == time.Minute && o.TimeScale == 10 && o.Timeout == 5*time.Minute &&
					o.SSLCAFile == "ca.pem" && o.SSLCert == "c.pem" && o.SSLKey == "k.pem"
			}},
		{"shard auto", []string{"-n", "10", "--shard", "auto/8", "d.js"}, true, func(o *cli.FleetOptions) bool {
			return o.Shard == (fleet.Shard{Index: 5, Count: 8})
		}},
		{"no -n", []string{"d.js"}, false, nil},
		{"no script", []string{"-n", "3"}, false, nil},
		{"two scripts", []string{"-n", "3", "a.js", "b.js"}, false, nil},
		{"bad shard", []string{"-n", "3", "--shard", "8/8", "d.js"}, false, nil},
		{"negative ramp", []string{"-n", "3", "--ramp", "-1s", "d.js"}, false, nil},
		{"bad time scale", []string{"-n", "3", "--time-scale", "0", "d.js"}, false, nil},
	}
	for _, tc := range tt {
		t.Run(tc.name, func(t *testing.T) {
			o, err := parseFleet(t, tc.args...)
			if (err == nil) != tc.ok {
				t.Fatalf("err = %v, want ok=%v", err, tc.ok)
			}
			if tc.ok && !tc.check(o) {
				t.Errorf("options %+v", o)
			}
		})
	}
}

func TestNewCmdFleetMerge(t *testing.T) {
	t.Parallel()
	ios := &cli.IOStreams{Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}}
	var got *cli.FleetMergeOptions
	cmd := cli.NewCmdFleetMerge(ios, func(o *cli.FleetMergeOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"--summary-json", "all.json", "a.json", "b.json"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if got.SummaryJSON != "all.json" || strings.Join(got.Files, " ") != "a.json b.json" {
		t.Errorf("options %+v", got)
	}
}

// TestFleetBinary runs two shards of a 20-instance fleet against the embedded broker, merges
// their JSON summaries, and checks the exit codes of a failing script and of usage errors.
func TestFleetBinary(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	src := script(t, "dev.js", `var c = mqtt.connect('mqtt://broker:1883', {clientId: 'dev'});
c.on('connect', function() { print('up'); c.publish('t/x', 'hi', {qos: 1}, function() { c.end(); }); });`)
	var parts []string
	for i := range 2 {
		js := filepath.Join(dir, "s"+string(rune('0'+i))+".json")
		parts = append(parts, js)
		r := runBinary(t, "fleet", "-n", "20", "--shard", string(rune('0'+i))+"/2", "--broker", "embedded",
			"--summary-json", js, "--for", "30s", src)
		if r.code != 0 {
			t.Fatalf("shard %d: exit %d\n%s\n%s", i, r.code, r.stdout, r.stderr)
		}
		if n := strings.Count(r.stdout, "] up\n"); n != 10 {
			t.Errorf("shard %d printed %d up lines:\n%s", i, n, r.stdout)
		}
		if !strings.Contains(r.stderr, "connect latency ms") {
			t.Errorf("shard %d: no summary on stderr: %s", i, r.stderr)
		}
	}
	r := runBinary(t, "fleet", "merge", "--summary-json", filepath.Join(dir, "all.json"), parts[0], parts[1])
	if r.code != 0 {
		t.Fatalf("merge: exit %d: %s", r.code, r.stderr)
	}
	b, err := os.ReadFile(filepath.Join(dir, "all.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m fleet.Summary
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if m.Instances != 20 || m.Connected != 20 || m.Published != 20 || m.Endings["finished"] != 20 || m.RSSBytes == 0 {
		t.Errorf("merged summary %+v", m)
	}
	if m.Ended == nil || !strings.Contains(string(b), `"ended": []`) && !strings.Contains(string(b), `"ended":[]`) {
		t.Errorf("a fleet with no ended instance writes \"ended\": [], not null:\n%s", b)
	}
	// One shard of two is not the fleet: refused (exit 2, naming it, nothing written) unless
	// --allow-partial.
	partial := filepath.Join(dir, "partial.json")
	r = runBinary(t, "fleet", "merge", "--summary-json", partial, parts[1])
	if r.code != 2 || !strings.Contains(r.stderr, "1 of 2 shards missing: 0/2") {
		t.Errorf("merge of one shard of two: exit %d: %s", r.code, r.stderr)
	}
	if _, err := os.Stat(partial); err == nil {
		t.Errorf("a refused merge wrote %s", partial)
	}
	r = runBinary(t, "fleet", "merge", "--allow-partial", "--summary-json", partial, parts[1])
	if r.code != 0 || !strings.Contains(r.stderr, "partial: shards 0/2 missing") {
		t.Errorf("merge --allow-partial: exit %d: %s", r.code, r.stderr)
	}
	if _, err := os.Stat(partial); err != nil {
		t.Errorf("merge --allow-partial wrote no summary: %v", err)
	}

	bad := script(t, "bad.js", "print('x');\nundefinedFunction();\n")
	r = runBinary(t, "fleet", "-n", "3", "--quiet", bad)
	if r.code != 1 || !strings.Contains(r.stderr, "3 of 3 instances ended with a script error") || !strings.Contains(r.stderr, "bad.js:2") {
		t.Errorf("script error: exit %d\nstdout %q\nstderr %s", r.code, r.stdout, r.stderr)
	}
	if r.stdout != "" {
		t.Errorf("--quiet printed %q", r.stdout)
	}
	if r := runBinary(t, "fleet", "-n", "0", bad); r.code != 2 {
		t.Errorf("-n 0: exit %d", r.code)
	}
	if r := runBinary(t, "fleet", "merge", filepath.Join(dir, "missing.json")); r.code != 2 {
		t.Errorf("merge of a missing file: exit %d", r.code)
	}
}
