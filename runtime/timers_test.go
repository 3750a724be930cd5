package runtime_test

import (
	"testing"
	"time"

	"github.com/devicejs/devicejs/runtime/runtimetest"
)

func TestTimers(t *testing.T) {
	tt := []struct {
		name string
		src  string
		want string
	}{
		{"timeout with args", `setTimeout(function(a, b) { print(a, b) }, 10, 'x', 2)`, "x 2\n"},
		{"order by delay", `setTimeout(function() { print('b') }, 20); setTimeout(function() { print('a') }, 10)`, "a\nb\n"},
		{"coerced delays fire in creation order",
			`setTimeout(function() { print('a') }, -5); setTimeout(function() { print('b') }, NaN);
			 setTimeout(function() { print('c') }); setTimeout(function() { print('d') }, 0);
			 setTimeout(function() { print('e') }, 'x')`, "a\nb\nc\nd\ne\n"},
		{"string delay", `setTimeout(function() { print('late') }, 20); setTimeout(function() { print('early') }, '10')`, "early\nlate\n"},
		{"interval and clear inside callback",
			`var n = 0; var iv = setInterval(function() { n++; print('iv', n); if (n == 3) clearInterval(iv) }, 1000)`,
			"iv 1\niv 2\niv 3\n"},
		{"clear a pending timeout from a callback",
			`var b = setTimeout(function() { print('b') }, 20); setTimeout(function() { print('a'); clearTimeout(b) }, 10)`, "a\n"},
		{"clear a timeout due in the same round",
			`var b; setTimeout(function() { print('a'); clearTimeout(b) }, 0); b = setTimeout(function() { print('b') }, 0)`, "a\n"},
		{"clearTimeout clears an interval", `var iv = setInterval(function() { print('no') }, 10); clearTimeout(iv)`, ""},
		{"clear unknown ids", `clearTimeout(12345); clearInterval('x'); clearTimeout(); print('ok')`, "ok\n"},
		{"ids are distinct numbers", `var a = setTimeout(function() {}, 1), b = setInterval(function() {}, 1);
			print(typeof a, a != b); clearInterval(b)`, "number true\n"},
		{"timers set in callbacks", `setTimeout(function() { print('1'); setTimeout(function() { print('2') }, 10) }, 10)`, "1\n2\n"},
		{"interval interleaves with timeout",
			`var n = 0; var iv = setInterval(function() { print('iv'); if (++n == 3) clearInterval(iv) }, 1000);
			 setTimeout(function() { print('t') }, 1500)`, "iv\nt\niv\niv\n"},
		{"wait at top level dispatches timers",
			`setTimeout(function() { print('cb') }, 100); print('before'); setTimeout(1000).wait(); print('after')`,
			"before\ncb\nafter\n"},
		{"wait inside a callback does not dispatch",
			`setTimeout(function() { print('a'); setTimeout(1000).wait(); print('b') }, 0);
			 setTimeout(function() { print('c') }, 10)`, "a\nb\nc\n"},
		{"preemption point inside a callback does not dispatch",
			`setTimeout(function() { var s = Date.now(); while (Date.now() - s < 1000) {} print('a') }, 0);
			 setTimeout(function() { print('c') }, 10)`, "a\nc\n"},
		{"wait lasts its device time",
			`var s = Date.now(); setTimeout(5000).wait(); print(Date.now() - s >= 5000)`, "true\n"},
		{"wait after the deadline returns at once",
			`var w = setTimeout(10); setTimeout(100).wait(); var s = Date.now(); w.wait(); print(Date.now() - s < 50)`, "true\n"},
		{"setTimeout without a function throws TypeError",
			`try { setTimeout('code', 10) } catch (e) { print(e instanceof TypeError) }`, "true\n"},
		{"setInterval without a function throws TypeError",
			`try { setInterval(100) } catch (e) { print(e instanceof TypeError) }`, "true\n"},
	}
	for _, tc := range tt {
		t.Run(tc.name, func(t *testing.T) {
			out, err := runManual(t, tc.src, 100*time.Millisecond)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if out != tc.want {
				t.Errorf("output = %q, want %q", out, tc.want)
			}
		})
	}
}

// TestEqualTimeoutsFireInCreationOrder uses a manual clock so that the
// deadlines are exactly equal.
func TestEqualTimeoutsFireInCreationOrder(t *testing.T) {
	src := `var s = '';
	for (var i = 0; i < 50; i++) { (function(i) { setTimeout(function() { s += i + ',' }, 1000) })(i) }
	setTimeout(function() { print(s) }, 1000)`
	out, err := runManual(t, src, 100*time.Millisecond)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	want := ""
	for i := range 50 {
		want += itoa(i) + ","
	}
	if out != want+"\n" {
		t.Errorf("output = %q, want %q", out, want+"\n")
	}
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}

func TestSpinningLoopEndedByTimer(t *testing.T) {
	tt := []struct{ name, src string }{
		{"while block", `var end = 0; setTimeout(function() { end = 1 }, 5000); while (!end) { } print('done')`},
		{"while statement", `var end = 0, i = 0; setTimeout(function() { end = 1 }, 5000); while (!end) i++; print('done')`},
		{"for", `var end = 0; setTimeout(function() { end = 1 }, 5000); for (;;) { if (end) break } print('done')`},
		{"do-while", `var end = 0; setTimeout(function() { end = 1 }, 5000); do ; while (!end); print('done')`},
		{"in a function", `var end = 0; setTimeout(function() { end = 1 }, 5000); function spin() { while (!end) {} } spin(); print('done')`},
		{"sample-4 shape", `var endEv = 0, n = 0;
var to = setInterval(function() {
print('end event');
endEv = 1;
}, 30000);
while(1) {
if(1 == endEv) {
endEv = 0;
print('ABORT');
if (++n == 2) { clearInterval(to); break; }
continue;
}
}
print('done')`},
	}
	for _, tc := range tt {
		t.Run(tc.name, func(t *testing.T) {
			out, err := runtimetest.Run(t, tc.src)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			want := "done\n"
			if tc.name == "sample-4 shape" {
				want = "end event\nABORT\nend event\nABORT\ndone\n"
			}
			if out != want {
				t.Errorf("output = %q, want %q", out, want)
			}
		})
	}
}
