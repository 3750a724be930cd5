package runtime_test

import (
	"context"
	"errors"
	"io"
	goruntime "runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/devicejs/devicejs/internal/syncbuf"
	"github.com/devicejs/devicejs/runtime"
)

// guardBudget is the budget of the memory guard tests: every shape below would allocate far
// more, so the verdict does not depend on what else the test process holds.
const guardBudget = 64 << 20

// TestMemoryGuardsStopBeforeAllocating: a long built-in whose result would not fit the budget
// ends the run with the budget error before it allocates, uncatchable like the watchdog's
// (the try/catch around it never runs its catch, and nothing after it runs).
func TestMemoryGuardsStopBeforeAllocating(t *testing.T) {
	tt := []struct{ name, src, builtin string }{
		{"fill a sparse array", `new Array(1.5e8).fill(1)`, "Array.prototype.fill"},
		{"fill with start and end", `new Array(1.5e8).fill(0, 10, -10)`, "Array.prototype.fill"},
		{"fill with a negative start", `new Array(2e7).fill('x', -1.9e7)`, "Array.prototype.fill"},
		{"fill after a length set", `var a = []; a.length = 1e8; a.fill(null)`, "Array.prototype.fill"},
		{"fill through call", `Array.prototype.fill.call(new Array(1e8), 1)`, "Array.prototype.fill"},
		{"fill with valueOf arguments", `new Array(1e8).fill(1, {valueOf: function() { return 0 }})`, "Array.prototype.fill"},
		{"Array.from an array-like", `Array.from({length: 1.5e8})`, "Array.from"},
		{"Array.from with a map function", `Array.from({length: 1e8}, function(_, i) { return i })`, "Array.from"},
		{"Array.from a string-length array-like", `Array.from({length: '100000000'})`, "Array.from"},
		{"Array.from a sparse array", `Array.from(new Array(1e8))`, "Array.from"},
		{"Array.from a long string", `Array.from('abcdefgh'.repeat(1 << 19))`, "Array.from"},
		{"apply of a huge array-like (killed the process)", `Math.max.apply(null, {length: 4e9})`, "Function.prototype.apply"},
		{"apply of a sparse array", `String.fromCharCode.apply(null, new Array(1e8))`, "Function.prototype.apply"},
		{"Reflect.apply", `Reflect.apply(Math.max, null, {length: 2**40})`, "Reflect.apply"},
		{"Reflect.construct", `Reflect.construct(Array, {length: 1e9})`, "Reflect.construct"},
		{"map of a sparse array", `new Array(1e8).map(function(x) { return x })`, "Array.prototype.map"},
		{"slice of a sparse array", `new Array(1e8).slice()`, "Array.prototype.slice"},
		{"slice with bounds", `new Array(1e8).slice(5, -5)`, "Array.prototype.slice"},
		{"concat of sparse arrays", `new Array(5e6).concat(new Array(5e6), new Array(5e6))`, "Array.prototype.concat"},
		{"join of a sparse array", `new Array(1.5e9).join('x')`, "Array.prototype.join"},
		{"join with the default separator", `new Array(1e8).join()`, "Array.prototype.join"},
		{"join with a long separator", `new Array(1e6).join('x'.repeat(100))`, "Array.prototype.join"},
		{"toString of a sparse array", `String(new Array(2e8))`, "Array.prototype.join"},
		{"split into characters", `'abcdefgh'.repeat(2**20).split('')`, "String.prototype.split"},
		{"split on a separator", `'a,'.repeat(2**21).split(',')`, "String.prototype.split"},
		{"split with a big limit", `'ab'.repeat(2**21).split('', 1e7)`, "String.prototype.split"},
		{"replace with a huge replacement", `var r = 'x'.repeat(2**22); 'abc'.repeat(20).replaceAll('b', r)`, "String.prototype.replaceAll"},
		{"replace with $' expansion", `'x'.repeat(2**14).replaceAll('x', "$'")`, "String.prototype.replaceAll"},
		{"replaceAll with an empty pattern", `'x'.repeat(2**12).replaceAll('', 'y'.repeat(2**14))`, "String.prototype.replaceAll"},
		{"replace once with $' expansion", `var s = 'y'.repeat(2**20); s.replace('y', "$'".repeat(100))`, "String.prototype.replace"},
		{"String concat", `var s = 'x'.repeat(2**24); s.concat(s, s, s, s)`, "String.prototype.concat"},
		{"repeat", `'abcdefgh'.repeat(2**23)`, "String.prototype.repeat"},
		{"padStart", `'x'.padStart(2**27)`, "String.prototype.padStart"},
		{"padEnd with a fill", `'x'.padEnd(2**27, 'ab')`, "String.prototype.padStart"},
		{"JSON.parse of many values", `JSON.parse('[' + '1,'.repeat(2**21) + '1]')`, "JSON.parse"},
		{"JSON.parse of many keys", `JSON.parse('{' + '"k":1,'.repeat(2**20) + '"k":1}')`, "JSON.parse"},
		{"in a timer callback", `setTimeout(function() { try { new Array(1e8).fill(0) } catch (e) { print('caught') } print('inner') }, 1)`, "Array.prototype.fill"},
		{"in a promise job", `Promise.resolve().then(function() { Array.from({length: 1e8}); print('inner') }).catch(function() { print('caught') })`, "Array.from"},
	}
	for _, tc := range tt {
		t.Run(tc.name, func(t *testing.T) {
			var out syncbuf.Buffer
			l := runtime.New(runtime.Options{Stdout: &out, MaxMemory: guardBudget})
			ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
			defer cancel()
			src := "try { " + tc.src + " } catch (e) { print('caught', e) } finally { print('finally') }\nprint('after')"
			start := time.Now()
			err := l.Run(ctx, "guard.js", src)
			var se *runtime.ScriptError
			if !errors.As(err, &se) || se.Kind != runtime.KindLimit || !errors.Is(err, runtime.ErrMemoryBudget) {
				t.Fatalf("err %v, stdout %q", err, out.String())
			}
			want := "guard.js: memory budget exceeded: " + tc.builtin + " would allocate about "
			if !strings.HasPrefix(se.Error(), want) || !strings.HasSuffix(se.Error(), "the budget is 64 MiB") {
				t.Errorf("message %q, want it to start %q", se.Error(), want)
			}
			async := strings.Contains(tc.src, "inner")
			if o := out.String(); strings.Contains(o, "caught") || strings.Contains(o, "inner") || !async && o != "" {
				t.Errorf("the script went on: stdout %q", out.String())
			}
			t.Logf("stopped after %v: %s", time.Since(start).Round(time.Millisecond), se.Message)
		})
	}
}

// TestMemoryGuardsKeepSemantics: with a budget, the checked built-ins answer exactly as goja's
// own do without one (the reference run has MaxMemory 0, so no guard), for ordinary and odd
// arguments, and call a script's valueOf and toString as often.
func TestMemoryGuardsKeepSemantics(t *testing.T) {
	srcs := []string{
		`[1, 2, 3, 4, 5].fill(0, 1, -1)`, `[1, 2, 3].fill()`, `new Array(3).fill('a', -2)`, `[1, 2, 3].fill(9, NaN, Infinity)`,
		`Array.prototype.fill.call({length: 3}, 7)`, `[1, 2, 3].fill(0, {valueOf: function() { n++; return 1 }})`,
		`[1, 2, 3].map(function(x, i) { return x * i })`, `[1, , 3].map(String)`,
		`[1, 2, 3, 4].slice(1, -1)`, `[1, 2, 3].slice({valueOf: function() { n++; return 1 }})`, `[1, 2].slice(-Infinity, 1.7)`,
		`Array.prototype.slice.call('abc', 1)`, `[1].concat(2, [3, 4], {length: 1, 0: 5})`, `[].concat.call(1, 2)`,
		`[1, null, undefined, 'a'].join()`, `[1, 2].join(undefined)`, `[1, 2].join({toString: function() { n++; return '-' }})`,
		`Array.prototype.join.call({length: 2, 0: 'a'}, '+')`, `String([1, [2, 3]])`,
		`Array.from({length: 3}, function(_, i) { return i * 2 })`, `Array.from('abc')`, `Array.from([1, 2]).length`,
		`Array.from(new Set([1, 1, 2]))`, `Array.from('héllo')`, `Math.max.apply(null, [1, 3, 2])`, `Math.max.apply(null, {length: 2, 0: 5, 1: 7})`,
		`Reflect.apply(Math.min, null, [4, 2])`, `Reflect.construct(Date, [0]).getTime()`, `(function() { return arguments.length }).apply(null, {length: 3})`,
		`Function.prototype.apply.length + Reflect.apply.length + Reflect.construct.length + Function.prototype.apply.name`, `Array.from([1, , 3])`, `Array.from(5)`, `Array.from({length: -1})`, `Array.from({length: {valueOf: function() { n++; return 2 }}})`,
		`'a,b,,c'.split(',')`, `'abc'.split('')`, `'abc'.split('', 2)`, `'abc'.split()`, `'a1b2'.split(/\d/)`,
		`'abc'.split('b', {valueOf: function() { n++; return 1 }})`, `'abc'.split(undefined, 0)`, `'aXbXc'.split('X', -1)`,
		`String.prototype.split.call(12345, 3)`, `'abc'.split(null)`,
		`'aaa'.replace('a', 'b')`, `'aaa'.replaceAll('a', 'b')`, `'abc'.replace('b', "[$&$'$` + "`" + `]")`, `'abc'.replaceAll('', '-')`,
		`'abc'.replace(/b/g, 'x')`, `'abc'.replace('b', function(m) { return m + m })`, `'abc'.replace('z', 'y')`,
		`'abc'.replace('b')`, `'a.b'.replaceAll('.', '$$')`, `String.prototype.replace.call(123, 2, 9)`,
		`'a'.concat('b', 1, null, {toString: function() { n++; return 'o' }})`, `''.concat()`,
		`'ab'.repeat(3)`, `'x'.padStart(4, 'ab')`, `'x'.padEnd(3)`, `JSON.parse('{"a": [1, 2, {"b": null}]}').a[2]`,
		`JSON.parse('[1, 2]', function(k, v) { return typeof v === 'number' ? v * 10 : v })`,
		`typeof Array.prototype.fill + Array.prototype.fill.length + Array.prototype.fill.name`,
		`Array.prototype.slice.length + String.prototype.split.length + String.prototype.replaceAll.name + Array.from.length`,
		`Object.getOwnPropertyDescriptor(Array.prototype, 'map').enumerable`,
	}
	bad := []string{
		`Array.prototype.fill.call(null)`, `'a'.split.call(undefined, ',')`, `String.prototype.replace.call(null, 'a', 'b')`,
		`'abc'.replaceAll(/b/, 'x')`, `[1].fill(0, Symbol())`, `Array.from({length: 2}, 5)`, `Math.max.apply(null, 5)`, `Reflect.apply(5)`, `Reflect.construct(Math.max, [])`, `String.prototype.concat.call(undefined)`,
	}
	run := func(src string, budget int64) string {
		var out syncbuf.Buffer
		l := runtime.New(runtime.Options{Stdout: &out, MaxMemory: budget})
		script := "var n = 0; var r; try { r = " + src + " } catch (e) { r = e.name } print(JSON.stringify(r), n)"
		if err := l.Run(t.Context(), "sem.js", script); err != nil {
			return "error: " + err.Error()
		}
		return out.String()
	}
	for _, src := range append(srcs, bad...) {
		want, got := run(src, 0), run(src, guardBudget)
		if got != want {
			t.Errorf("%s: with a budget %q, without %q", src, got, want)
		}
	}
}

// TestMemoryGuardsLetSmallCallsThrough: calls over the 1 MiB threshold that fit the budget run
// as usual, and garbage left by earlier calls does not count against a later one.
func TestMemoryGuardsLetSmallCallsThrough(t *testing.T) {
	src := `var g = new ArrayBuffer(60 << 20); g = null; // 60 MB of garbage: over the budget with any estimate
var a = new Array(1e5).fill(1);                   // 1.6 MB
var s = 'abcdefgh'.repeat(1 << 17);               // 1 MB
print(a.slice(1).length, a.concat([1]).length, a.map(Number).length, s.split('a').length,
  s.replaceAll('a', 'xy').length, s.concat(s).length, JSON.parse('[' + '1,'.repeat(1 << 17) + '1]').length,
  Array.from({length: 1e5}).length, new Array(1e5).join('ab').length, 'x'.padStart(1 << 21).length)`
	// The 60 MB fit only in a heap nearly empty: what earlier tests left (their loops end
	// asynchronously) must not count against it, and the guard's own collection (at most one per
	// 100 ms in the process) must not be skipped because an earlier test's guard just collected.
	settleHeap(t, 3<<20)
	time.Sleep(150 * time.Millisecond)
	var out syncbuf.Buffer
	l := runtime.New(runtime.Options{Stdout: &out, MaxMemory: guardBudget})
	if err := l.Run(t.Context(), "fits.js", src); err != nil {
		t.Fatal(err)
	}
	// The lengths, worked out: the string has 2^20 units and 2^17 'a's.
	want := "99999 100001 100000 131073 1179648 2097152 131073 100000 199998 2097152\n"
	if out.String() != want {
		t.Errorf("stdout %q, want %q", out.String(), want)
	}
}

// settleHeap waits, at most 5 s, until a collection leaves less than limit bytes live.
func settleHeap(t *testing.T, limit uint64) {
	t.Helper()
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		goruntime.GC()
		metrics.Read(sample)
		if live := sample[0].Value.Uint64(); live < limit || time.Now().After(deadline) {
			t.Logf("live heap before the run: %d bytes", live)
			return
		}
	}
}

// TestMemoryBackstop: a run stopped at its budget while inside one long built-in, whose
// memory keeps growing, calls the backstop with the budget error (Object.keys, which no guard
// estimates, makes 4 million strings of the 4 MiB typed array's indexes after the 32 MiB budget
// was passed; a typed array's fill was the shape until the typed array constructors were
// guarded). Without a backstop it only goes on.
func TestMemoryBackstop(t *testing.T) {
	got := make(chan *runtime.ScriptError, 1)
	prev := runtime.SetMemoryBackstop(func(se *runtime.ScriptError) { got <- se })
	defer func() { runtime.SetMemoryBackstop(prev) }()
	// The run could in principle end before the watchdog sees it (it samples every 2 ms): then
	// it ends without a backstop, so up to three attempts.
	var called *runtime.ScriptError
	for attempt := 0; attempt < 3 && called == nil; attempt++ {
		debug.FreeOSMemory() // what earlier tests left must not trip the budget before the script runs
		l := runtime.New(runtime.Options{Stdout: io.Discard, MaxMemory: 32 << 20})
		err := l.Run(t.Context(), "backstop.js", "var k = Object.keys(new Uint8Array(1 << 22)); print('after')")
		if !errors.Is(err, runtime.ErrMemoryBudget) {
			t.Fatalf("err %v", err)
		}
		select {
		case called = <-got:
		default:
		}
	}
	if called == nil {
		t.Fatalf("the backstop was not called")
	}
	if !errors.Is(called, runtime.ErrMemoryBudget) || !strings.Contains(called.Error(), "the budget is 32 MiB") {
		t.Errorf("backstop got %v", called)
	}
	if p := runtime.SetMemoryBackstop(prev); p == nil {
		t.Errorf("SetMemoryBackstop returned nil for the installed backstop")
	}
}

// BenchmarkMemoryGuards: the cost of the checked built-ins on small calls (under the 1 MiB
// threshold: one more native call and no heap reading), with and without a budget.
func BenchmarkMemoryGuards(b *testing.B) {
	src := `var a = [1, 2, 3]; function f(x, y) { return x + y }
for (var i = 0; i < N; i++) { a.slice(); a.map(f); f.apply(null, a); 'a,b'.split(','); a.concat(a) }`
	for _, budget := range []int64{0, guardBudget} {
		b.Run("budget="+strconv.FormatInt(budget>>20, 10)+"MiB", func(b *testing.B) {
			l := runtime.New(runtime.Options{Stdout: io.Discard, MaxMemory: budget})
			b.ResetTimer()
			if err := l.Run(b.Context(), "bench.js", "var N = "+strconv.Itoa(b.N)+";\n"+src); err != nil {
				b.Fatal(err)
			}
		})
	}
}
