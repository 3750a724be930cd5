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

func TestSensorExample(t *testing.T) {
	r := runFile(t, "testdata/sensor.test.js", devtest.Options{})
	if r.Err != nil {
		t.Fatalf("file error: %v", r.Err)
	}
	if len(r.Tests) != 4 {
		t.Fatalf("%d tests, want 4", len(r.Tests))
	}
	for _, tr := range r.Tests {
		if tr.Status != devtest.Passed {
			t.Errorf("%s: %s: %s", tr.Name, tr.Status, tr.Message)
		}
	}
}
