package devtest_test

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/devicejs/devicejs/devtest"
)

// lossyOutput runs files and returns what the test "lossy link" of each printed (the device
// time it ended at, the link's losses and when each of 40 publishes completed).
func lossyOutput(t *testing.T, files []string, opts devtest.Options) []string {
	t.Helper()
	var out []string
	for _, f := range devtest.RunFiles(context.Background(), files, opts, nil) {
		if f.Err != nil {
			t.Fatalf("%s: %v", f.File, f.Err)
		}
		for _, r := range f.Tests {
			if r.Status != devtest.Passed {
				t.Fatalf("%s: %s: %s %s", f.File, r.Name, r.Status, r.Message)
			}
			if r.Name == "lossy link" {
				if r.TestSeed != devtest.TestSeed(opts.Seed, f.File, r.Name) || r.Seed != opts.Seed {
					t.Errorf("seeds %d, %d; want %d, %d", r.Seed, r.TestSeed, opts.Seed, devtest.TestSeed(opts.Seed, f.File, r.Name))
				}
				out = append(out, r.Output)
			}
		}
	}
	return out
}

// TestSeedPerTest (issue 18 B): a lossy-link test draws the same jitter and loss, so gives the
// same device-time trace, in the whole file, under Run of that test alone, after a test is
// inserted above it (another folder, same file name) and with two files at once.
func TestSeedPerTest(t *testing.T) {
	const file, inserted = "testdata/seed/lossy.test.js", "testdata/seed/inserted/lossy.test.js"
	want := lossyOutput(t, []string{file}, devtest.Options{Seed: 1})
	if len(want) != 1 || !strings.Contains(want[0], "done at ") {
		t.Fatalf("output %q", want)
	}
	if m := regexp.MustCompile(`losses (\d+)`).FindStringSubmatch(want[0]); m == nil || m[1] == "0" {
		t.Fatalf("the link lost nothing, the test shows nothing: %q", want[0])
	}
	t.Logf("whole file: %s", strings.SplitN(want[0], "\n", 2)[0])
	for _, tc := range []struct {
		name  string
		files []string
		opts  devtest.Options
	}{
		{"run selects the test", []string{file}, devtest.Options{Seed: 1, Run: regexp.MustCompile(`^lossy link$`)}},
		{"run by file: name", []string{file}, devtest.Options{Seed: 1, Run: regexp.MustCompile(`lossy.test.js: lossy`)}},
		{"a test inserted above it", []string{inserted}, devtest.Options{Seed: 1}},
		{"-j 2", []string{file, inserted}, devtest.Options{Seed: 1, Parallel: 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, got := range lossyOutput(t, tc.files, tc.opts) {
				if got != want[0] {
					t.Errorf("trace differs from the whole file's:\ngot  %.300s\nwant %.300s", got, want[0])
				}
			}
		})
	}
	t.Run("another seed draws otherwise", func(t *testing.T) {
		got := lossyOutput(t, []string{file}, devtest.Options{Seed: 2})
		if got[0] == want[0] {
			t.Errorf("seed 2 gave seed 1's trace")
		}
	})
}

// TestSeedFunction: the test seed depends on the run's seed, the file's base name and the
// test's name only.
func TestSeedFunction(t *testing.T) {
	base := devtest.TestSeed(1, "a/b/x.test.js", "t")
	for _, tc := range []struct {
		name       string
		seed       int64
		file, test string
		same       bool
	}{
		{"same", 1, "a/b/x.test.js", "t", true},
		{"other folder", 1, "x.test.js", "t", true},
		{"absolute", 1, "/tmp/q/x.test.js", "t", true},
		{"other seed", 2, "a/b/x.test.js", "t", false},
		{"other name", 1, "a/b/x.test.js", "u", false},
		{"other file", 1, "a/b/y.test.js", "t", false},
		{"name and file not confused", 1, "a/b/x.test.jst", "", false},
	} {
		if got := devtest.TestSeed(tc.seed, tc.file, tc.test) == base; got != tc.same {
			t.Errorf("%s: same %v, want %v", tc.name, got, tc.same)
		}
	}
}

// TestReplayCommand: the replay command quotes what a shell would split or expand.
func TestReplayCommand(t *testing.T) {
	for _, tc := range []struct {
		file, name string
		want       string
	}{
		{"t/a.test.js", "plain", `devicejs test --seed 3 --run '^plain$' t/a.test.js`},
		{"t/a b.test.js", "it's (x)", `devicejs test --seed 3 --run '^it'\''s \(x\)$' 't/a b.test.js'`},
		{"-a.test.js", "$HOME", `devicejs test --seed 3 --run '^\$HOME$' -- -a.test.js`},
	} {
		got := devtest.ReplayCommand(devtest.TestResult{File: tc.file, Name: tc.name, Seed: 3})
		if got != tc.want {
			t.Errorf("got  %s\nwant %s", got, tc.want)
		}
	}
}
