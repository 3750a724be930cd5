package devtest_test

import (
	"context"
	"strings"
	"testing"

	"github.com/devicejs/devicejs/devtest"
)

// runFile runs one test file on the embedded broker and returns its result.
func runFile(t *testing.T, path string, opts devtest.Options) devtest.FileResult {
	t.Helper()
	r := devtest.RunFile(context.Background(), path, opts)
	var b strings.Builder
	devtest.WriteFile(&b, r, true)
	t.Logf("%s", b.String())
	return r
}

// TestExampleFiles: the example tests in testdata (a user's sensor, the link measured on the
// wire) all pass.
func TestExampleFiles(t *testing.T) {
	for _, tc := range []struct {
		file  string
		tests int
	}{
		{"testdata/sensor.test.js", 4},
		{"testdata/link.test.js", 3},
		{"testdata/globals/globals.test.js", 4}, // device.start's globals (issue 18 E)
		{"testdata/helpers/helpers.test.js", 2}, // require, globals and payload matchers together
	} {
		t.Run(tc.file, func(t *testing.T) {
			r := runFile(t, tc.file, devtest.Options{})
			if r.Err != nil {
				t.Fatalf("file error: %v", r.Err)
			}
			if len(r.Tests) != tc.tests {
				t.Fatalf("%d tests, want %d", len(r.Tests), tc.tests)
			}
			for _, tr := range r.Tests {
				if tr.Status != devtest.Passed {
					t.Errorf("%s: %s: %s", tr.Name, tr.Status, tr.Message)
				}
			}
		})
	}
}
