package cli_test

import (
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// seedFiles writes a lossy-link test file whose failure message shows the device time the
// link's draws led to, after a passing test that prints.
func seedFiles(t *testing.T) (dir, file string) {
	t.Helper()
	dir = t.TempDir()
	dev := `var c = mqtt.connect('mqtt://x', {clientId: 'p1'});
var n = 0;
setInterval(function() { if (c.isConnected()) c.publish('p/' + (++n), 'v', {qos: 1}); }, 1000);`
	tests := `test('prints', function() {
  print('hello from the test');
  var d = device.start('dev.js');
  world.after(2500);
});
test('lossy ends at a time the seed decides', function() {
  var d = device.start('dev.js', {link: 'latency=40ms,jitter=30ms,loss=10%'});
  world.until(function() { return d.count('publish_done') >= 15; }, 120000);
  expect(world.now()).toBe(0);
});`
	for name, src := range map[string]string{"dev.js": dev, "s.test.js": tests} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir, filepath.Join(dir, "s.test.js")
}

// TestTestSeedReplay (issue 18 B): a failed test prints its seed and a replay command; running
// that command reproduces the failure exactly (the same device time); JUnit carries the seed
// as properties and system-out for the passing test; -v shows what a passing test printed
// and a line per device.
func TestTestSeedReplay(t *testing.T) {
	t.Parallel()
	_, file := seedFiles(t)
	junit := filepath.Join(t.TempDir(), "j.xml")
	r := runBinary(t, "test", "-v", "--seed", "5", "--junit", junit, file)
	if r.code != 1 {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	got := regexp.MustCompile(`got: +\d+`).FindString(r.stdout)
	m := regexp.MustCompile(`(?m)^    seed 5 \(test seed -?\d+\); replay: (devicejs test .*)$`).FindStringSubmatch(r.stdout)
	if got == "" || m == nil {
		t.Fatalf("no failure time or replay line:\n%s", r.stdout)
	}
	for _, want := range []string{"ok   " + file + ": prints", "      hello from the test",
		"    device dev.js: client p1, canceled; 1 connected, 2 published, 0 received, 0 errors, 0 lines printed"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}
	// The replay command, run by a shell, reproduces the failure.
	cmd := exec.Command("sh", "-c", binary+strings.TrimPrefix(m[1], "devicejs"))
	out, _ := cmd.CombinedOutput()
	if !strings.Contains(string(out), got) || !strings.Contains(string(out), "0 passed, 1 failed") {
		t.Errorf("replay %s did not reproduce %q:\n%s", m[1], got, out)
	}
	// Without the first test (--run), and with another seed.
	again := runBinary(t, "test", "--seed", "5", "--run", "lossy", file)
	if !strings.Contains(again.stdout, got) {
		t.Errorf("--run lossy: %q not in\n%s", got, again.stdout)
	}
	// With -j 2 beside another file whose devices keep the broker and the CPU busy.
	busy := filepath.Join(filepath.Dir(file), "busy.test.js")
	if err := os.WriteFile(busy, []byte(`test('busy', function() {
  for (var i = 0; i < 5; i++) device.start('dev.js', {globals: {}});
  world.after(60000);
});`), 0o644); err != nil {
		t.Fatal(err)
	}
	par := runBinary(t, "test", "--seed", "5", "-j", "2", busy, file)
	if !strings.Contains(par.stdout, got) {
		t.Errorf("-j 2: %q not in\n%s", got, par.stdout)
	}
	var ju struct {
		Suites []struct {
			Props []struct {
				Name  string `xml:"name,attr"`
				Value string `xml:"value,attr"`
			} `xml:"properties>property"`
			Cases []struct {
				Name  string `xml:"name,attr"`
				Props []struct {
					Name  string `xml:"name,attr"`
					Value string `xml:"value,attr"`
				} `xml:"properties>property"`
				Out     string    `xml:"system-out"`
				Failure *struct{} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	b, err := os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	if err := xml.Unmarshal(b, &ju); err != nil {
		t.Fatal(err)
	}
	if len(ju.Suites) != 1 || len(ju.Suites[0].Cases) != 2 {
		t.Fatalf("junit %s", b)
	}
	s := ju.Suites[0]
	if len(s.Props) != 1 || s.Props[0].Name != "seed" || s.Props[0].Value != "5" {
		t.Errorf("suite properties %+v", s.Props)
	}
	for _, c := range s.Cases {
		props := map[string]string{}
		for _, p := range c.Props {
			props[p.Name] = p.Value
		}
		if props["seed"] != "5" || props["testSeed"] == "" || !strings.Contains(props["replay"], "--seed 5 --run") {
			t.Errorf("%s: properties %v", c.Name, props)
		}
		if c.Out == "" {
			t.Errorf("%s: no system-out", c.Name)
		}
	}
	if !strings.Contains(s.Cases[0].Out, "hello from the test") || !strings.Contains(s.Cases[0].Out, "device dev.js: client p1") {
		t.Errorf("passing test's system-out: %q", s.Cases[0].Out)
	}
}

// TestTestSeedFlag: --seed must be an integer (exit 2, a usage error), and so on for the
// other new flags.
func TestTestSeedFlag(t *testing.T) {
	t.Parallel()
	_, file := seedFiles(t)
	for _, tc := range []struct {
		name   string
		args   []string
		stderr string
	}{
		{"letters", []string{"--seed", "abc"}, "--seed"},
		{"fraction", []string{"--seed", "1.5"}, "--seed"},
		{"empty", []string{"--seed", ""}, "--seed"},
		{"past int64", []string{"--seed", "9223372036854775808"}, "--seed"},
		{"hex-ish", []string{"--seed=0x"}, "--seed"},
		{"--root missing", []string{"--root", filepath.Join(t.TempDir(), "nope")}, "--root"},
		{"--root a file", []string{"--root", file}, "--root"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runBinary(t, append(append([]string{"test"}, tc.args...), file)...)
			if r.code != 2 || !strings.Contains(r.stderr, tc.stderr) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", r.code, r.stderr, tc.stderr)
			}
		})
	}
	for _, seed := range []string{"-7", "0", "9223372036854775807"} {
		r := runBinary(t, "test", "--seed", seed, "--run", "prints", file)
		if r.code != 0 {
			t.Errorf("--seed %s: exit %d\n%s%s", seed, r.code, r.stdout, r.stderr)
		}
	}
}
