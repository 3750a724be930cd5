package cli_test

import (
	"strings"
	"testing"
	"time"
)

// TestTimeoutWinsOverSpinningErrorConversion runs the real binary on scripts whose uncaught
// value spins while it is converted for the message: --timeout must still exit 3 with its own
// message, promptly, and print no "Uncaught" line.
func TestTimeoutWinsOverSpinningErrorConversion(t *testing.T) {
	for _, src := range []string{
		`throw {toString() { while (1) {} }}`,
		`throw {toString: undefined, valueOf() { for (;;) {} }}`,
		`setTimeout(function() { var e = new Error(); Object.defineProperty(e, 'message', {get() { while (1) {} }}); throw e; }, 1)`,
		`Promise.reject({[Symbol.toPrimitive]() { while (1) {} }})`,
	} {
		r := runBinary(t, "run", "--timeout", "700ms", script(t, "spin.js", src))
		if r.code != 3 || !strings.Contains(r.stderr, "--timeout elapsed") || strings.Contains(r.stderr, "Uncaught") {
			t.Errorf("%s: exit %d, stderr %q; want 3 and --timeout elapsed", src, r.code, r.stderr)
		}
		if r.wall > 10*time.Second { // the bound is 700 ms; generous for a loaded machine
			t.Errorf("%s: exited after %v", src, r.wall)
		}
		t.Logf("%s: exit %d after %v", src, r.code, r.wall)
	}
}

// TestUnhandledRejectionIsUncaught checks the CLI's report of an unhandled promise rejection:
// the device-style uncaught error on stderr, "Uncaught (in promise)", exit 1; a rejection
// handled in time changes nothing.
func TestUnhandledRejectionIsUncaught(t *testing.T) {
	t.Parallel()
	tt := []struct {
		src    string
		code   int
		stdout string
		stderr string // prefix after the script path
	}{
		{"Promise.reject(new Error('boom'));", 1, "", ":1:16: Uncaught (in promise) Error: boom\n"},
		{"async function f() {\n  throw new TypeError('async');\n}\nf();\nprint('after');", 1, "after\n", ":2:9: Uncaught (in promise) TypeError: async\n"},
		{"Promise.reject(1).catch(function(e) { print('caught ' + e); });", 0, "caught 1\n", ""},
	}
	for _, tc := range tt {
		p := script(t, "p.js", tc.src)
		r := runBinary(t, "run", p)
		wantErr := ""
		if tc.stderr != "" {
			wantErr = p + tc.stderr
		}
		if r.code != tc.code || r.stdout != tc.stdout || !strings.HasPrefix(r.stderr, wantErr) || (wantErr == "" && r.stderr != "") {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want %d, %q, %q", tc.src, r.code, r.stdout, r.stderr, tc.code, tc.stdout, wantErr)
		}
	}
}
