package devicejs

import (
	"errors"
	"testing"

	"github.com/devicejs/devicejs/runtime"
)

// TestChildScriptError: the ScriptError rebuilt from the stderr of a `devicejs run` that
// exited 1, for each shape the CLI prints and for stderr it does not recognise.
func TestChildScriptError(t *testing.T) {
	tt := []struct {
		name, stderr string
		want         runtime.ScriptError
		budget       bool
	}{
		{"exception with a stack", "a.js:2:9: Uncaught Error: boom\n\tat f (a.js:2:9(3))\n\tat a.js:4:1(5)\n",
			runtime.ScriptError{Kind: runtime.KindException, File: "a.js", Line: 2, Column: 9, Message: "Error: boom",
				Stack: "\tat f (a.js:2:9(3))\n\tat a.js:4:1(5)"}, false},
		{"after other lines", "some warning: x\nb.js:1:1: Uncaught TypeError: no\n",
			runtime.ScriptError{Kind: runtime.KindException, File: "b.js", Line: 1, Column: 1, Message: "TypeError: no"}, false},
		{"syntax", "c.js:1:11: SyntaxError: Unexpected token ;\n",
			runtime.ScriptError{Kind: runtime.KindSyntax, File: "c.js", Line: 1, Column: 11, Message: "Unexpected token ;"}, false},
		{"memory budget, no position", "d.js: memory budget exceeded: the heap holds 70 MiB, the budget is 64 MiB\ndevicejs: the script was stopped at its memory budget; see --max-memory\n",
			runtime.ScriptError{Kind: runtime.KindLimit, File: "d.js", Message: "memory budget exceeded: the heap holds 70 MiB, the budget is 64 MiB"}, true},
		{"panic", "e.js: panic: boom\n",
			runtime.ScriptError{Kind: runtime.KindPanic, File: "e.js", Message: "boom"}, false},
		{"unrecognised", "devicejs: connection refused\n",
			runtime.ScriptError{Kind: runtime.KindLimit, Message: "connection refused"}, false},
		{"a bad position", "f.js:x:y: Uncaught Error: z\n",
			runtime.ScriptError{Kind: runtime.KindLimit, Message: "f.js:x:y: Uncaught Error: z"}, false},
		{"empty", "",
			runtime.ScriptError{Kind: runtime.KindLimit, Message: "the child exited with status 1"}, false},
	}
	for _, tc := range tt {
		t.Run(tc.name, func(t *testing.T) {
			se := childScriptError(tc.stderr)
			if errors.Is(se, runtime.ErrMemoryBudget) != tc.budget {
				t.Errorf("Is(ErrMemoryBudget) = %v", !tc.budget)
			}
			se.Err = nil
			if *se != tc.want {
				t.Errorf("got %#v\nwant %#v", *se, tc.want)
			}
		})
	}
}

// TestScriptFileName: the script file is named after Script.Name's base, never outside the
// temporary folder and never as a flag.
func TestScriptFileName(t *testing.T) {
	for name, want := range map[string]string{
		"sample5.js": "sample5.js", "dir/x.js": "x.js", "../../etc/passwd": "passwd", "": "script.js",
		"/": "script.js", ".": "script.js", "..": "script.js", "--help": "script.js", "a/-v": "script.js",
	} {
		if got := scriptFileName(name); got != want {
			t.Errorf("scriptFileName(%q) = %q, want %q", name, got, want)
		}
	}
}
