package devicejs_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/devicejs/devicejs"
	"github.com/devicejs/devicejs/internal/syncbuf"
)

// TestRunDeepSource: a Go host calling devicejs.Run survives source nested a million deep in
// the script (a ScriptFailed result) or built at run time (a SyntaxError the script catches),
// and a self-delegating generator behind a bypass of the call-depth check (a catchable
// RangeError). Each of these killed the host process with a Go stack overflow.
func TestRunDeepSource(t *testing.T) {
	tt := []struct {
		name, src string
		want      devicejs.Ending
		out       string
	}{
		{"script a+a+…", "var a = 1; var x = " + strings.Repeat("a+", 700000) + "a", devicejs.ScriptFailed, ""},
		{"script !!!…", strings.Repeat("!", 2000000) + "0", devicejs.ScriptFailed, ""},
		{"eval", "try { eval('{}' + 'a+'.repeat(1e6) + 'a') } catch (e) { print(e.name) }", devicejs.Finished, "SyntaxError\n"},
		{"Function", "try { Function('return ' + 'x=>'.repeat(1e6) + 'x') } catch (e) { print(e.name) }", devicejs.Finished, "SyntaxError\n"},
		{"generator behind a directive", `function* g() { ("x"); yield* g() } try { g().next() } catch (e) { print(e.name) }`, devicejs.Finished, "RangeError\n"},
		{"generator behind a with", `var g; with ({__devicejs$enter: 0}) { g = function* () { yield* g() } } try { g().next() } catch (e) { print(e.name) }`, devicejs.Finished, "RangeError\n"},
	}
	for _, tc := range tt {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			var out syncbuf.Buffer
			res, err := devicejs.Run(ctx, devicejs.Script{Name: "deep.js", Source: tc.src}, devicejs.Config{Stdout: &out})
			if err != nil {
				t.Fatal(err)
			}
			if res.Ending != tc.want || out.String() != tc.out {
				t.Fatalf("ending %v (%v), output %q; want %v, %q", res.Ending, res.Err, out.String(), tc.want, tc.out)
			}
			if tc.want == devicejs.ScriptFailed && (res.ScriptError() == nil || !strings.Contains(res.Err.Error(), "nested deeper than")) {
				t.Fatalf("err %v, want a syntax error 'nested deeper than'", res.Err)
			}
		})
	}
}
