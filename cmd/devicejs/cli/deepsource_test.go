package cli_test

import (
	"strings"
	"testing"
	"time"
)

// TestDeepSourceBinary: `devicejs run`, `devicejs check` and `devicejs fleet` on source nested
// a million deep, in the file or built at run time, and on a self-delegating generator behind a
// bypass of the call-depth check. Each killed the process ("fatal error: stack overflow", exit
// 2) after 30-90 s; now the file is a syntax error (exit 1), the rest a catchable error.
func TestDeepSourceBinary(t *testing.T) {
	t.Parallel()
	deep := "var a = 1;\nvar x = " + strings.Repeat("a+", 700000) + "a;\n"
	const caught = "} catch (e) { print(e.name) }\nprint('goes on')\n"
	runtimeShapes := "try { eval('{}' + 'a+'.repeat(1e6) + 'a') " + caught +
		"try { new Function('return ' + '!'.repeat(2e6) + 'a') " + caught +
		"function* g() { ('x'); yield* g() }\ntry { g().next() " + caught +
		"var h; with ({__devicejs$enter: 0}) { h = function* () { yield* h() } }\ntry { h().next() " + caught +
		"try { eval('/* \\uD800 */ function* k() { yield* k() } k().next()') " + caught
	const runtimeOut = "SyntaxError\ngoes on\nSyntaxError\ngoes on\nRangeError\ngoes on\nRangeError\ngoes on\nSyntaxError\ngoes on\n"

	t.Run("run: deep file", func(t *testing.T) {
		r := runBinary(t, "run", script(t, "deep.js", deep))
		if r.code != 1 || !strings.Contains(r.stderr, "deep.js: SyntaxError: expressions or statements nested deeper than 1000 levels") {
			t.Fatalf("exit %d, stderr %.300q", r.code, r.stderr)
		}
		if r.wall > 30*time.Second { // milliseconds of scanning; generous for a loaded machine
			t.Errorf("took %v", r.wall)
		}
	})
	t.Run("check: deep file", func(t *testing.T) {
		r := runBinary(t, "check", script(t, "deep.js", deep))
		if r.code != 1 || !strings.Contains(r.stdout+r.stderr, "deep.js:2:") || !strings.Contains(r.stdout+r.stderr, "nested deeper than 1000 levels") {
			t.Fatalf("exit %d, stdout %.300q, stderr %.300q", r.code, r.stdout, r.stderr)
		}
	})
	t.Run("run: built at run time", func(t *testing.T) {
		r := runBinary(t, "run", script(t, "rt.js", runtimeShapes))
		if r.code != 0 || r.stdout != runtimeOut {
			t.Fatalf("exit %d, stdout %q, stderr %.300q", r.code, r.stdout, r.stderr)
		}
	})
	t.Run("fleet: built at run time", func(t *testing.T) {
		r := runBinary(t, "fleet", "-n", "2", script(t, "rt.js", runtimeShapes))
		if r.code != 0 {
			t.Fatalf("exit %d, stderr %.500q", r.code, r.stderr)
		}
		for _, i := range []string{"[0] ", "[1] "} {
			if n := strings.Count(r.stdout, i+"goes on\n"); n != 5 {
				t.Errorf("instance %s: %d times 'goes on', want 5; stdout %.800q", i, n, r.stdout)
			}
		}
		if !strings.Contains(r.stderr, "2 of 2 instances") {
			t.Errorf("stderr %.500q", r.stderr)
		}
	})
	t.Run("fleet: deep file", func(t *testing.T) {
		r := runBinary(t, "fleet", "-n", "2", "--quiet", script(t, "deep.js", deep))
		if r.code != 1 || !strings.Contains(r.stderr, "nested deeper than 1000 levels") {
			t.Fatalf("exit %d, stderr %.500q", r.code, r.stderr)
		}
	})
}
