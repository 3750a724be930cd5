package devtest_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/devicejs/devicejs/devtest"
	"github.com/devicejs/devicejs/internal/testbroker"
)

// TestFailureMessages: a failing assertion shows the expectation, what happened instead and
// the last trace lines; bad arguments are TypeErrors the test can catch (never a crash).
func TestFailureMessages(t *testing.T) {
	r := runFile(t, "testdata/failing/failing.test.js", devtest.Options{})
	if r.Err != nil {
		t.Fatalf("file error: %v", r.Err)
	}
	want := []struct {
		name   string
		status devtest.Status
		msg    []string
	}{
		{"wrong publish count", devtest.Failed, []string{
			`expect(../sensor.js).toHavePublished({topic: "sensors/sensor-1/temp", count: 5})`,
			"expected: exactly 5 publishes matching", "got:      2 matching; the broker received 2 from the device",
			"last trace lines of ../sensor.js:", "20000ms publish_done", "failing.test.js:5:"}},
		{"until times out", devtest.Failed, []string{"world.until: the condition was still false after 3000ms of device time",
			"last printed lines of ../sensor.js:", "CONNECTED"}},
		{"thrown error", devtest.Failed, []string{"Error: boom", "failing.test.js:14:"}},
		{"bad arguments throw TypeErrors, caught by the test", devtest.Passed, nil},
		{"skipped on purpose", devtest.Skipped, []string{"not ready"}},
	}
	if len(r.Tests) != len(want) {
		t.Fatalf("%d results, want %d", len(r.Tests), len(want))
	}
	for i, w := range want {
		got := r.Tests[i]
		if got.Name != w.name || got.Status != w.status {
			t.Errorf("test %d: %q %s, want %q %s (%s)", i, got.Name, got.Status, w.name, w.status, got.Message)
		}
		for _, m := range w.msg {
			if !strings.Contains(got.Message, m) {
				t.Errorf("%s: message lacks %q:\n%s", w.name, m, got.Message)
			}
		}
	}
}

// writeTest writes a test file (and the sensor script next to it) into a temporary folder.
func writeTest(t *testing.T, src string) string {
	t.Helper()
	dir := t.TempDir()
	sensor, err := os.ReadFile("testdata/sensor.js")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "sensor.js"), sensor, 0o644); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "x.test.js")
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestFileShapes: what a file can do wrong outside its tests, and the runner's selection.
func TestFileShapes(t *testing.T) {
	for _, tc := range []struct {
		name    string
		src     string
		opts    devtest.Options
		fileErr string
		results []devtest.Status
	}{
		{name: "syntax error", src: "test('a', function() {", fileErr: "SyntaxError"},
		{name: "world outside a test", src: "world.after(10);", fileErr: "only inside a test"},
		{name: "no tests", src: "var x = 1;"},
		{name: "run selects", src: "test('alpha', function(){}); test('beta', function(){ throw new Error('x'); });",
			opts: devtest.Options{Run: regexp.MustCompile("alpha")}, results: []devtest.Status{devtest.Passed}},
		{name: "run matches file: name", src: "test('alpha', function(){}); test('beta', function(){});",
			opts: devtest.Options{Run: regexp.MustCompile(`^x\.test\.js: beta$`)}, results: []devtest.Status{devtest.Passed}},
		{name: "a test spinning past its timeout", src: "test('spin', function(){ for(;;){} }); test('next', function(){});",
			opts: devtest.Options{Timeout: 200e6}, fileErr: "still running"},
		{name: "until past the timeout fails the test, the next one runs",
			src:  "test('slow', function(){ var d = device.start('sensor.js'); world.until(function(){ return false; }, 1e12); }); test('next', function(){});",
			opts: devtest.Options{Timeout: 300e6}, results: []devtest.Status{devtest.Failed, devtest.Passed}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := devtest.RunFile(context.Background(), writeTest(t, tc.src), tc.opts)
			if tc.fileErr != "" {
				if r.Err == nil || !strings.Contains(r.Err.Error(), tc.fileErr) {
					t.Fatalf("file error %v, want one containing %q", r.Err, tc.fileErr)
				}
				return
			}
			if r.Err != nil {
				t.Fatalf("file error: %v", r.Err)
			}
			if len(r.Tests) != len(tc.results) {
				t.Fatalf("%d results (%+v), want %d", len(r.Tests), r.Tests, len(tc.results))
			}
			for i, s := range tc.results {
				if r.Tests[i].Status != s {
					t.Errorf("test %d: %s (%s), want %s", i, r.Tests[i].Status, r.Tests[i].Message, s)
				}
			}
		})
	}
}

// TestExternalBrokerSkips: on --broker, controls that need the embedded broker report the
// test skipped with the reason; stop without Options.Control too.
func TestExternalBrokerSkips(t *testing.T) {
	b := testbroker.Mochi(t)
	src := `
test('users', function() { broker.users({a: 'b'}); });
test('refuse', function() { broker.refuse(5); });
test('deny', function() { broker.deny('x', 'publish'); });
test('stop', function() { broker.stop(); });
test('runs', function() {
  var d = device.start('sensor.js');
  world.until(function() { return d.count('suback') > 0; }, 5000);
  world.publish('sensor-1/cmd', 'hi', {qos: 1});
  world.until(function() { return d.lines().indexOf('CMD hi') >= 0; }, 5000);
  world.after(21000);
  expect(d).toHavePublished({topic: 'sensors/sensor-1/temp', min: 2});
});`
	r := devtest.RunFile(context.Background(), writeTest(t, src), devtest.Options{Broker: b.Addr()})
	if r.Err != nil || len(r.Tests) != 5 {
		t.Fatalf("err %v, %d tests", r.Err, len(r.Tests))
	}
	for _, tr := range r.Tests[:4] {
		if tr.Status != devtest.Skipped || !strings.Contains(tr.Message, "needs the embedded broker") {
			t.Errorf("%s: %s %q, want skipped: needs the embedded broker", tr.Name, tr.Status, tr.Message)
		}
	}
	if last := r.Tests[4]; last.Status != devtest.Passed {
		t.Errorf("runs: %s: %s", last.Status, last.Message)
	}
}

// TestBrokerControls: refuse with a return code, users and ACL denies on the embedded broker.
func TestBrokerControls(t *testing.T) {
	src := `
test('refuse 3', function() {
  broker.refuse(3);
  var d = device.start('sensor.js');
  world.after(3500);
  expect(d).toHaveFailedToConnect({returnCode: 3, min: 3});
  expect(d).not.toHaveConnected();
  broker.refuse(0);
  world.after(1500);
  expect(d).toHaveConnected(1);
});
test('users', function() {
  broker.users({someone: 'else'});
  var d = device.start('sensor.js');
  world.after(2500);
  expect(d).toHaveFailedToConnect({returnCode: 5, min: 2}); // mochi answers MQTT 3.1.1 with 5, not authorized
  broker.users(null);
  world.after(1500);
  expect(d).toHaveConnected(1);
});
test('deny publish and subscribe', function() {
  broker.deny('sensors/#', 'publish');
  broker.deny('sensor-1/cmd', 'subscribe');
  var d = device.start('sensor.js');
  world.after(1000);
  var subacks = d.trace().filter(function(e) { return e.kind === 'suback'; });
  expect(subacks.length).toBe(1);
  expect(subacks[0].code).toBe(13);
  world.after(10000);
  expect(d).not.toHavePublished({topic: 'sensors/#'});
});`
	r := devtest.RunFile(context.Background(), writeTest(t, src), devtest.Options{})
	if r.Err != nil || len(r.Tests) != 3 {
		t.Fatalf("err %v, %d tests", r.Err, len(r.Tests))
	}
	for _, tr := range r.Tests {
		if tr.Status != devtest.Passed {
			t.Errorf("%s: %s: %s", tr.Name, tr.Status, tr.Message)
		}
	}
}
