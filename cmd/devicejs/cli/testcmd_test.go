package cli_test

import (
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// testFiles writes a device script and a test file with one passing and one failing test.
func testFiles(t *testing.T) (dir, file string) {
	t.Helper()
	dir = t.TempDir()
	dev := `var c = mqtt.connect('mqtt://x', {clientId: 'd1'});
c.on('connect', function() { print('UP'); });
setInterval(function() { c.publish('t/d1', 'v', {qos: 1}); }, 5000);`
	tests := `test('connects and publishes', function() {
  var d = device.start('dev.js');
  world.after(11000);
  expect(d).toHavePrinted('UP');
  expect(d).toHavePublished({topic: 't/d1', count: 2});
});
test('expects too much', function() {
  var d = device.start('dev.js');
  world.after(6000);
  expect(d).toHavePublished({topic: 't/d1', count: 3});
});`
	for name, src := range map[string]string{"dev.js": dev, "a.test.js": tests} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir, filepath.Join(dir, "a.test.js")
}

// TestTestCommand: devicejs test's exit codes, summary, --run, --junit and --trace-on-fail.
func TestTestCommand(t *testing.T) {
	t.Parallel()
	dir, file := testFiles(t)
	junit := filepath.Join(t.TempDir(), "report.xml")
	for _, tc := range []struct {
		name    string
		args    []string
		code    int
		stdout  []string
		notOut  []string
		stderr  string
		checkJU bool
	}{
		{name: "all (a directory)", args: []string{"test", dir}, code: 1,
			stdout: []string{"ok   " + file + ": connects and publishes", "FAIL " + file + ": expects too much",
				"expected: exactly 3 publishes", "FAIL: 1 passed, 1 failed, 0 skipped in 1 files"}},
		{name: "--run selects the passing test", args: []string{"test", "--run", "connects", file}, code: 0,
			stdout: []string{"PASS: 1 passed, 0 failed, 0 skipped"}, notOut: []string{"expects too much"}},
		{name: "--junit and --trace-on-fail", args: []string{"test", "--junit", junit, "--trace-on-fail", "-j", "2", file}, code: 1,
			stdout: []string{"trace of dev.js:", "connack", "printed by dev.js:", "UP"}, checkJU: true},
		{name: "bad --run", args: []string{"test", "--run", "(", file}, code: 2, stderr: "--run"},
		{name: "no files", args: []string{"test", t.TempDir()}, code: 2, stderr: "no *.test.js files"},
		{name: "missing path", args: []string{"test", filepath.Join(dir, "nope")}, code: 2},
		{name: "-j 0", args: []string{"test", "-j", "0", file}, code: 2},
		{name: "--ssl-ca without --broker", args: []string{"test", "--ssl-ca", file, file}, code: 2},
		{name: "bad --broker", args: []string{"test", "--broker", "nohostport", file}, code: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runBinary(t, tc.args...)
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, tc.code, r.stdout, r.stderr)
			}
			for _, s := range tc.stdout {
				if !strings.Contains(r.stdout, s) {
					t.Errorf("stdout lacks %q:\n%s", s, r.stdout)
				}
			}
			for _, s := range tc.notOut {
				if strings.Contains(r.stdout, s) {
					t.Errorf("stdout has %q:\n%s", s, r.stdout)
				}
			}
			if !strings.Contains(r.stderr, tc.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tc.stderr, r.stderr)
			}
			if tc.checkJU {
				checkJUnit(t, junit)
			}
		})
	}
}

// checkJUnit parses the report: one suite, two cases, one failure with the expectation.
func checkJUnit(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
		Suites   []struct {
			Cases []struct {
				Name    string `xml:"name,attr"`
				Failure *struct {
					Message string `xml:"message,attr"`
					Body    string `xml:",chardata"`
				} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("junit: %v\n%s", err, b)
	}
	if doc.Tests != 2 || doc.Failures != 1 || len(doc.Suites) != 1 || len(doc.Suites[0].Cases) != 2 {
		t.Fatalf("junit: %d tests, %d failures, suites %+v", doc.Tests, doc.Failures, doc.Suites)
	}
	c := doc.Suites[0].Cases[1]
	if c.Name != "expects too much" || c.Failure == nil || !strings.Contains(c.Failure.Body, "expected: exactly 3 publishes") {
		t.Errorf("junit failing case: %+v", c)
	}
	if doc.Suites[0].Cases[0].Failure != nil {
		t.Errorf("junit: the passing case has a failure")
	}
}
