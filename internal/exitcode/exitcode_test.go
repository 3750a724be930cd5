package exitcode

import "testing"

// TestValues pins the table: the values are a public contract (`devicejs run --help`,
// docs/cli), so a change here is a breaking change, never a refactoring.
func TestValues(t *testing.T) {
	for _, tc := range []struct {
		name string
		got  Code
		want int
	}{
		{"OK", OK, 0}, {"ScriptError", ScriptError, 1}, {"Usage", Usage, 2}, {"Timeout", Timeout, 3},
		{"Threshold", Threshold, 4}, {"Interrupted", Interrupted, 130}, {"Terminated", Terminated, 143},
	} {
		if int(tc.got) != tc.want {
			t.Errorf("%s = %d, want %d", tc.name, tc.got, tc.want)
		}
	}
}
