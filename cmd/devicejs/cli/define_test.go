package cli_test

import (
	"sort"
	"strings"
	"testing"
)

// TestDefineRun checks --define on run: JSON or string values, seen before the script runs;
// a run is instance 0 of a fleet of 1.
func TestDefineRun(t *testing.T) {
	t.Parallel()
	src := script(t, "d.js", `print(DEVICE_ID, typeof N, N, JSON.stringify(CFG), typeof S, S, INDEX, SIZE, EMPTY === '');`)
	r := runBinary(t, "run", "--define", "DEVICE_ID=sensor-042", "--define", "N=3", "--define", `CFG={"qos":1,"topics":["a","b"]}`,
		"--define", `S="007"`, "--define", "INDEX={i}", "--define", "SIZE={n}", "--define", "EMPTY=", src)
	want := `sensor-042 number 3 {"qos":1,"topics":["a","b"]} string 007 0 1 true` + "\n"
	if r.code != 0 || r.stdout != want {
		t.Errorf("exit %d\nstdout %q\nwant   %q\nstderr %s", r.code, r.stdout, want, r.stderr)
	}
}

// TestDefineFleet checks that each fleet instance sees its own index, N and clientId.
func TestDefineFleet(t *testing.T) {
	t.Parallel()
	src := script(t, "f.js", `print(ID + ' ' + INDEX + '/' + SIZE + ' ' + CID);`)
	r := runBinary(t, "fleet", "-n", "3", "--client-id", "meter-{i}", "--define", "ID=dev-{i}", "--define", "INDEX={i}",
		"--define", "SIZE={n}", "--define", "CID={id}", src)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	sort.Strings(lines)
	want := []string{"[0] dev-0 0/3 meter-0", "[1] dev-1 1/3 meter-1", "[2] dev-2 2/3 meter-2"}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("fleet printed\n%s\nwant\n%s", r.stdout, strings.Join(want, "\n"))
	}
}

// TestDefineRefused checks that a malformed --define or template is a usage error naming it,
// on run and fleet, and never reaches the script.
func TestDefineRefused(t *testing.T) {
	t.Parallel()
	src := script(t, "x.js", `print('ran');`)
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"run", "--define", "NOVALUE"}, `--define "NOVALUE": want KEY=VALUE`},
		{[]string{"run", "--define", "=1"}, "not a usable global name"},
		{[]string{"run", "--define", "mqtt=1"}, `global "mqtt"`},
		{[]string{"run", "--define", "print=1"}, `global "print"`},
		{[]string{"run", "--define", "a-b=1"}, "not a usable global name"},
		{[]string{"run", "--define", "X=1", "--define", "X=2"}, "defined twice"},
		{[]string{"run", "--define", "X={x}"}, "unknown field {x}"},
		{[]string{"run", "--define", "X={id}"}, "{id} needs a --client-id"},
		{[]string{"fleet", "-n", "2", "--define", "X={id}"}, "{id} needs a --client-id"},
		{[]string{"fleet", "-n", "2", "--define", "X={index}"}, "unknown field {index}"},
		{[]string{"fleet", "-n", "2", "--client-id", "c-{x}"}, "unknown field {x}"},
		{[]string{"fleet", "-n", "2", "--define", "JSON=1"}, `global "JSON"`},
	} {
		r := runBinary(t, append(tc.args, src)...)
		if r.code != 2 || !strings.Contains(r.stderr, tc.msg) || strings.Contains(r.stdout, "ran") {
			t.Errorf("%q: exit %d, stdout %q, stderr %s; want exit 2 with %q", tc.args, r.code, r.stdout, r.stderr, tc.msg)
		}
	}
}
