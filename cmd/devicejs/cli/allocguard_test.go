package cli_test

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

// oneLineAllocations are the shapes of issue 17 finding 2: one line whose built-in asked Go
// for 32 GiB and more in one allocation, which the machine cannot map: "fatal error:
// runtime: out of memory", exit 2, whatever --max-memory (0.1-0.3 s, before the watchdog's
// first sample). Since the allocation guards, none allocates.
var oneLineAllocations = []struct{ name, src string }{
	{"sort of a length set to 2^32-1", "var a = []; a.length = 2**32 - 1; a.sort()"},
	{"sort.call of {length: 2^32-1}", "Array.prototype.sort.call({length: 2**32 - 1})"},
	{"sort with a comparator", "var a = [2, 1]; a.length = 2**32 - 1; a.sort(function(x, y) { return x - y })"},
	{"sort of a Proxy", "var a = []; a.length = 2**32 - 1; [].sort.call(new Proxy(a, {}))"},
	{"sort of a sparse array of length 1e9", "var a = [3, 2, 1]; a.length = 1e9; a.sort()"},
	{"toSorted of an array-like", "Array.prototype.toSorted.call({length: 2**32 - 1})"},
	{"toReversed, with, toSpliced", "[].toReversed.call({length: 2**40}); [].with.call({length: 2**40}, 0, 0); [].toSpliced.call({length: 2**40})"},
	{"new Float64Array(4e9)", "new Float64Array(4e9)"},
	{"new Float64Array({length: 2^32-1})", "new Float64Array({length: 2**32 - 1})"},
	{"Float64Array.from({length: 2^32-1})", "Float64Array.from({length: 2**32 - 1})"},
	{"Float64Array.from of a sparse array", "var a = []; a.length = 2**32 - 1; Float64Array.from(a)"},
	{"new BigInt64Array(2^34)", "new BigInt64Array(2**34)"},
	{"subclassed typed array", "class F extends Float64Array {}; new F(2**40)"},
	{"new ArrayBuffer(2^35)", "new ArrayBuffer(2**35)"},
	{"ArrayBuffer reached through a typed array", "new (new Uint8Array(1).buffer.constructor)(2**35)"},
	{"Reflect.construct of a typed array", "Reflect.construct(Float32Array, [2**36])"},
	{"apply of {length: 2^40}", "Math.max.apply(null, {length: 2**40})"},
	{"Reflect.apply of {length: 2^40}", "Reflect.apply(Math.max, null, {length: 2**40})"},
}

// TestMaxMemoryHoldsAgainstOneLineAllocations (issue 17 finding 2): at --max-memory 64MiB
// each shape ends the run with the budget error before allocating (exit 1, the --max-memory
// line, the script's catch never runs), at a peak RSS within twice the budget plus the
// baseline, never a Go fatal error. The figures go to docs/reliability.md 17.2.
func TestMaxMemoryHoldsAgainstOneLineAllocations(t *testing.T) {
	base := runPeak(t, "run", "--max-memory", "64MiB", script(t, "base.js", "print(1)"))
	if base.code != 0 || base.peak == 0 {
		t.Fatalf("baseline run: exit %d, peak %d, stderr %s", base.code, base.peak, base.stderr)
	}
	bound := 2*rssBudget + base.peak
	budgetRE := regexp.MustCompile(`bomb\.js: memory budget exceeded: .* would allocate about \d+ MiB with \d+ MiB in the heap; the budget is 64 MiB\ndevicejs: the script was stopped at its memory budget; see --max-memory\n$`)
	for _, tc := range oneLineAllocations {
		t.Run(tc.name, func(t *testing.T) {
			src := "try { " + tc.src + " } catch (e) { print('caught', e) }"
			r := runPeak(t, "run", "--max-memory", "64MiB", script(t, "bomb.js", src))
			if r.killed {
				t.Fatalf("killed at %d MiB resident after %v", rssKill>>20, r.wall)
			}
			if strings.Contains(r.stderr, "fatal error") || r.code != 1 || !budgetRE.MatchString(r.stderr) {
				t.Fatalf("exit %d, stderr %.500q; want exit 1 with the budget error", r.code, r.stderr)
			}
			if r.peak > bound {
				t.Errorf("peak RSS %d MiB, over twice the budget plus the baseline (%d MiB)", r.peak>>20, bound>>20)
			}
			t.Logf("exit %d in %v, peak RSS %d MiB (bound %d MiB): %s", r.code, r.wall.Round(time.Millisecond),
				r.peak>>20, bound>>20, strings.SplitN(r.stderr, "\n", 2)[0])
		})
	}
}

// TestNoBudgetAllocationsThrow (issue 17 finding 2): with --max-memory 0 the same shapes,
// scaled past any machine (2^45 bytes and more), throw a catchable RangeError: the script
// catches it and goes on (exit 0), never a Go fatal error.
func TestNoBudgetAllocationsThrow(t *testing.T) {
	big := strings.NewReplacer("2**32 - 1", "2**45", "2**34", "2**45", "2**35", "2**45", "2**36", "2**45", "4e9", "2**45", "1e9", "2**45")
	for _, tc := range oneLineAllocations {
		t.Run(tc.name, func(t *testing.T) {
			src := "var n = 0; try { " + big.Replace(tc.src) + " } catch (e) { if (!(e instanceof RangeError)) throw e; n++ }\n" +
				"if (n !== 1) throw new Error('no RangeError'); print('caught')"
			r := runPeak(t, "run", "--max-memory", "0", script(t, "big.js", src))
			if r.killed || r.code != 0 || strings.Contains(r.stderr, "fatal error") {
				t.Fatalf("exit %d (killed %v), stderr %.500q; want exit 0 after a caught RangeError", r.code, r.killed, r.stderr)
			}
			t.Logf("exit 0 in %v, peak RSS %d MiB", r.wall.Round(time.Millisecond), r.peak>>20)
		})
	}
}
