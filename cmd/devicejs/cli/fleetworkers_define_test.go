package cli_test

import (
	"sort"
	"strings"
	"testing"
)

// TestFleetWorkersDefine: --define reaches every worker's instances as it reaches the
// instances of a fleet in one process, one value or several, values holding commas,
// brackets, quotes, '=' and the {i} template. Found while re-verifying issue 17
// (2026-12-06): the supervisor forwarded a repeatable flag by its String(), "[IDX=7]", so
// every worker refused it and `fleet --workers N --define ...` ended all instances as
// "worker crash", exit 1.
func TestFleetWorkersDefine(t *testing.T) {
	t.Parallel()
	p := script(t, "d.js", "print(JSON.stringify([typeof A === 'undefined' ? null : A, typeof B === 'undefined' ? null : B]))")
	for _, tc := range []struct {
		name    string
		defines []string
	}{
		{"one number", []string{"A=7"}},
		{"two", []string{"A=7", "B=x"}},
		{"a comma in a string", []string{"A=a,b", "B=\"c,d\""}},
		{"a JSON array and object", []string{"A=[1,2]", "B={\"k\":[3,\"x,y\"]}"}},
		{"quotes and an equals sign", []string{"A=say \"hi\"", "B=k=v"}},
		{"the instance template", []string{"A={i}", "B=dev-{i}-of-{n}"}},
		{"the same key twice", []string{"A=1", "A=2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var defs []string
			for _, d := range tc.defines {
				defs = append(defs, "--define", d)
			}
			one := runBinary(t, append(append([]string{"fleet", "-n", "3"}, defs...), p)...)
			two := runBinary(t, append(append([]string{"fleet", "-n", "3", "--workers", "3"}, defs...), p)...)
			if one.code != two.code || strings.Contains(two.stderr, "worker crash") {
				t.Fatalf("exit %d in one process, %d with --workers\nstderr: %s", one.code, two.code, two.stderr)
			}
			if one.code != 0 { // refused before anything runs (a key given twice), the same either way
				if !strings.Contains(one.stderr, "--define") || !strings.Contains(two.stderr, "--define") {
					t.Errorf("exit %d without naming --define\none: %s\ntwo: %s", one.code, one.stderr, two.stderr)
				}
				return
			}
			lines := func(s string) []string {
				l := strings.Split(strings.TrimSpace(s), "\n")
				sort.Strings(l)
				return l
			}
			if a, b := lines(one.stdout), lines(two.stdout); strings.Join(a, "\n") != strings.Join(b, "\n") || len(a) != 3 {
				t.Errorf("one process:\n%s\n--workers 3:\n%s", strings.Join(a, "\n"), strings.Join(b, "\n"))
			}
		})
	}
}
