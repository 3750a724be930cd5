package devtest_test

import (
	"context"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/devicejs/devicejs/devtest"
)

// TestRunFileFromFS checks that Options.FS supplies both the test file and the scripts it
// device.start()s, resolved against the test file's folder, and that a missing file in the FS
// is an error of the test, not a read from the OS filesystem.
func TestRunFileFromFS(t *testing.T) {
	fsys := fstest.MapFS{
		"suite/tests/a.test.js": {Data: []byte(`
test('starts a script from the FS', function() {
  var d = device.start('../scripts/hello.js');
  world.until(function() { return d.lines().indexOf('hello from fs') >= 0; }, 5000);
});
test('missing script', function() {
  device.start('../scripts/none.js');
});
`)},
		"suite/scripts/hello.js": {Data: []byte(`print('hello from fs');`)},
	}
	for _, tc := range []struct {
		name   string
		file   string
		status []devtest.Status
		errHas string
	}{
		{name: "file and script from FS", file: "suite/tests/a.test.js", status: []devtest.Status{devtest.Passed, devtest.Failed}},
		{name: "test file missing", file: "suite/tests/none.test.js", errHas: "file does not exist"},
		{name: "OS path not in FS", file: "../testdata/conformance/broker-up.test.js", errHas: "does not exist"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := devtest.RunFile(context.Background(), tc.file, devtest.Options{FS: fsys})
			if tc.errHas != "" {
				if r.Err == nil || !strings.Contains(r.Err.Error(), tc.errHas) {
					t.Fatalf("err %v, want one containing %q", r.Err, tc.errHas)
				}
				return
			}
			if r.Err != nil {
				t.Fatal(r.Err)
			}
			if len(r.Tests) != len(tc.status) {
				t.Fatalf("%d tests, want %d", len(r.Tests), len(tc.status))
			}
			for i, want := range tc.status {
				if r.Tests[i].Status != want {
					t.Errorf("%s: %s (%s), want %s", r.Tests[i].Name, r.Tests[i].Status, r.Tests[i].Message, want)
				}
			}
			if msg := r.Tests[1].Message; !strings.Contains(msg, "none.js") {
				t.Errorf("missing script message %q does not name it", msg)
			}
		})
	}
}
