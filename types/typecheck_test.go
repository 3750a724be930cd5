// Package types_test checks types/devicejs.d.ts with the TypeScript compiler pinned in
// package-lock.json (installed by `npm ci --prefix types`, which .ci/run does).
package types_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// tsc returns the compiler's path. Without node_modules the test is skipped on a developer
// machine and fails in CI (CI set), where .ci/run must have installed it.
func tsc(t *testing.T) string {
	t.Helper()
	p := filepath.Join("node_modules", ".bin", "tsc")
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("TypeScript compiler missing (%v): run `npm ci --prefix types`", err)
		}
		t.Skipf("TypeScript compiler not installed (%v): run `npm ci --prefix types`", err)
	}
	return p
}

// runTSC runs tsc -p project and returns its exit code and output.
func runTSC(t *testing.T, project string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, tsc(t), "-p", project).CombinedOutput()
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("running tsc: %v\n%s", err, out)
		}
		return ee.ExitCode(), string(out)
	}
	return 0, string(out)
}

// TestSamplesTypeCheck: the six documented samples type-check clean with checkJs.
func TestSamplesTypeCheck(t *testing.T) {
	if code, out := runTSC(t, "tsconfig.json"); code != 0 || out != "" {
		t.Fatalf("tsc exit %d:\n%s", code, out)
	}
}

// TestWrongScriptFails: each mistake in testdata/wrong.js is reported where it is.
func TestWrongScriptFails(t *testing.T) {
	code, out := runTSC(t, filepath.Join("testdata", "tsconfig.json"))
	if code == 0 {
		t.Fatalf("tsc accepted testdata/wrong.js:\n%s", out)
	}
	for _, want := range []string{
		"wrong.js(2,19): error TS2551: Property 'conect' does not exist on type 'Mqtt'.",
		"wrong.js(4,6): error TS2769: No overload matches this call.",
		"wrong.js(5,22): error TS2769: No overload matches this call.",
		"wrong.js(6,17): error TS2339: Property 'wiat' does not exist on type 'Waiter'.",
		"wrong.js(7,50): error TS2339: Property 'push' does not exist on type 'string'.",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("tsc output lacks %q:\n%s", want, out)
		}
	}
}

// TestTestFilesTypeCheck: the conformance and example test files type-check clean against
// devicejs-test.d.ts (with devicejs.d.ts for the runtime globals).
func TestTestFilesTypeCheck(t *testing.T) {
	if code, out := runTSC(t, "tsconfig.test.json"); code != 0 || out != "" {
		t.Fatalf("tsc exit %d:\n%s", code, out)
	}
}

// TestWrongTestFileFails: each mistake in testdata/wrong.test.js is reported where it is.
func TestWrongTestFileFails(t *testing.T) {
	code, out := runTSC(t, filepath.Join("testdata", "tsconfig.test.json"))
	if code == 0 {
		t.Fatalf("tsc accepted testdata/wrong.test.js:\n%s", out)
	}
	for _, want := range []string{
		"wrong.test.js(2,33): error TS2561:", // clientID for clientId
		"wrong.test.js(3,9): error TS2551: Property 'afterr' does not exist",
		"wrong.test.js(4,13): error TS2551: Property 'toHavePrintd' does not exist on type 'Matchers'.",
		"wrong.test.js(5,13): error TS2322: Type 'string' is not assignable to type 'number'.",
		"wrong.test.js(6,20): error TS2345: Argument of type '\"read\"' is not assignable",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("tsc output lacks %q:\n%s", want, out)
		}
	}
}
