package cli_test

import (
	"strings"
	"testing"
)

// TestTimeScaleIsChecked runs the real binary with --time-scale values outside 0.001..1e6 on
// every command that has the flag: each is a usage error (exit 2) naming the flag, never a
// panic, and a timer never fires early. The ends of the range run.
func TestTimeScaleIsChecked(t *testing.T) {
	t.Parallel()
	src := script(t, "t.js", "setTimeout(function() { print('fired'); }, 1);")
	commands := [][]string{{"run"}, {"fleet", "-n", "1"}}
	bad := []string{"NaN", "nan", "+Inf", "-Inf", "Infinity", "0", "-0", "-1", "1e-12", "0.000999", "1000001", "1e308", "4.9e-324"}
	for _, cmd := range commands {
		for _, v := range bad {
			r := runBinary(t, append(append([]string{}, cmd...), "--time-scale", v, src)...)
			if r.code != 2 || !strings.Contains(r.stderr, "--time-scale") || strings.Contains(r.stderr, "panic") || strings.Contains(r.stdout, "fired") {
				t.Errorf("%s --time-scale %s: exit %d, stdout %q, stderr %q; want exit 2 naming --time-scale", cmd[0], v, r.code, r.stdout, r.stderr)
			}
		}
	}
	for _, v := range []string{"0.001", "1e6"} {
		r := runBinary(t, "run", "--time-scale", v, src)
		if r.code != 0 || r.stdout != "fired\n" {
			t.Errorf("run --time-scale %s: exit %d, stdout %q, stderr %q; want 0 and fired", v, r.code, r.stdout, r.stderr)
		}
	}
}
