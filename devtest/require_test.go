package devtest_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"testing/fstest"
	"time"

	"github.com/devicejs/devicejs/devtest"
)

// requireTree writes the helpers of TestRequire under root/tests/lib, and a file outside root.
func requireTree(t *testing.T) (root, outside string) {
	t.Helper()
	base := t.TempDir()
	root, outside = filepath.Join(base, "root"), filepath.Join(base, "outside")
	lib := filepath.Join(root, "tests", "lib")
	for _, d := range []string{lib, outside, filepath.Join(lib, "dir")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string]string{
		"h.js": `var n = require('./n.js');
exports.twice = function(x) { return 2 * x; };
exports.loads = (globalThis.__loads = (globalThis.__loads || 0) + 1);
exports.n = n;
exports.file = __filename;
exports.dir = __dirname;`,
		"n.js":        `module.exports = require('./dir/deep.js') + 40;`,
		"dir/deep.js": `module.exports = require('../two.js');`,
		"two.js":      `module.exports = 2;`,
		"cyc1.js":     `exports.a = 1; require('./cyc2.js');`,
		"cyc2.js":     `require('./cyc1.js');`,
		"self.js":     `require('./self.js');`,
		"bad.js":      "var ok = 1;\nvar x = ;",
		"throws.js":   "throw new Error('helper failed');",
		"rec.js":      `function f() { f(); } module.exports = f;`,
		"gen.js":      `function* g() { yield* g(); } module.exports = function() { return g().next(); };`,
		"deep.js":     "module.exports = " + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + ";",
		"data.json":   `{"a": [1, {"b": 2}]}`,
		"bad.json":    `{"a": `,
		"smap.js":     "module.exports = 1;\n//# sourceMappingURL=../../../outside/x.js.map",
		"noreq.js":    `var c = mqtt.connect('mqtt://b'); print(typeof require);`,
		"escape.js":   `module.exports = require('../../../outside/x.js');`,
	}
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(lib, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(outside, "x.js"), []byte("module.exports = 'outside';"), 0o644); err != nil {
		t.Fatal(err)
	}
	for link, target := range map[string]string{"out.js": filepath.Join(outside, "x.js"), "zero.js": "/dev/zero",
		"in.js": filepath.Join(lib, "two.js"), "loop.js": filepath.Join(lib, "loop.js")} {
		if err := os.Symlink(target, filepath.Join(lib, link)); err != nil {
			t.Fatal(err)
		}
	}
	if err := syscall.Mkfifo(filepath.Join(lib, "fifo.js"), 0o644); err != nil {
		t.Fatal(err)
	}
	return root, outside
}

// TestRequire (issue 18 E): test files share helpers with require: relative and nested
// paths, caching, JSON; a missing file, a path outside the test root (../, absolute, a
// symbolic link out), a FIFO, /dev/zero, a cycle, a syntax error, source too deep, a bare name
// fail the test with an error naming the path, never a crash or a hang. Helpers are
// instrumented like test files (recursion and self-delegating generators stop at the depth
// check).
func TestRequire(t *testing.T) {
	root, outside := requireTree(t)
	type tc struct {
		name, body string
		status     devtest.Status
		msg        []string
	}
	cases := []tc{
		{"relative, nested, cached", `var h = require('./lib/h.js');
  expect(h.twice(2)).toBe(4); expect(h.n).toBe(42);
  expect(require('./lib/h.js')).toBe(h); expect(require('./lib/h')).toBe(h);
  expect(h.loads).toBe(1);
  expect(h.file).toBe(__testdir + '/lib/h.js'); expect(h.dir).toBe(__testdir + '/lib');`, devtest.Passed, nil},
		{"cached across tests", `expect(require('./lib/h.js').loads).toBe(1); expect(globalThis.__loads).toBe(1);`, devtest.Passed, nil},
		{"json", `expect(require('./lib/data.json')).toEqual({a: [1, {b: 2}]});`, devtest.Passed, nil},
		{"a link inside the root", `expect(require('./lib/in.js')).toBe(2);`, devtest.Passed, nil},
		{"source map comments are ignored", `expect(require('./lib/smap.js')).toBe(1);`, devtest.Passed, nil},
		{"missing", `require('./lib/missing.js');`, devtest.Failed, []string{`require("./lib/missing.js"): no such file: `, `lib/missing.js`}},
		{"a directory", `require('./lib/dir');`, devtest.Failed, []string{`require("./lib/dir"): no such file`}},
		{"../ outside the root", `require('../../outside/x.js');`, devtest.Failed, []string{`is outside the test root ` + root}},
		{"absolute outside the root", fmt.Sprintf(`require(%q);`, filepath.Join(outside, "x.js")), devtest.Failed,
			[]string{filepath.Join(outside, "x.js") + " is outside the test root"}},
		{"a link out", `require('./lib/out.js');`, devtest.Failed, []string{"lib/out.js (a link to " + filepath.Join(outside, "x.js") + ") is outside the test root"}},
		{"a helper requiring outside", `require('./lib/escape.js');`, devtest.Failed, []string{`require("../../../outside/x.js")`, "is outside the test root"}},
		{"/dev/zero through a link", `require('./lib/zero.js');`, devtest.Failed, []string{"(a link to /dev/zero) is outside the test root"}},
		{"/dev/zero", `require('/dev/zero');`, devtest.Failed, []string{"/dev/zero is outside the test root"}},
		{"a FIFO", `require('./lib/fifo.js');`, devtest.Failed, []string{`require("./lib/fifo.js")`, "fifo.js: not a regular file"}},
		{"a link loop", `require('./lib/loop.js');`, devtest.Failed, []string{`require("./lib/loop.js")`, "loop.js"}},
		{"a cycle", `require('./lib/cyc1.js');`, devtest.Failed, []string{"a cycle: ", "lib/cyc1.js -> ", "lib/cyc2.js -> ", "lib/cyc1.js"}},
		{"requiring itself", `require('./lib/self.js');`, devtest.Failed, []string{"a cycle: ", "lib/self.js -> ", "lib/self.js"}},
		{"a syntax error", `require('./lib/bad.js');`, devtest.Failed, []string{`require("./lib/bad.js"): `, "lib/bad.js:2:9: SyntaxError"}},
		{"a helper that throws", `require('./lib/throws.js');`, devtest.Failed, []string{"Error: helper failed", "lib/throws.js:1"}},
		{"bad JSON", `require('./lib/bad.json');`, devtest.Failed, []string{"SyntaxError"}},
		{"too deep", `require('./lib/deep.js');`, devtest.Failed, []string{`require("./lib/deep.js")`, "nested deeper than"}},
		{"recursion", `require('./lib/rec.js')();`, devtest.Failed, []string{"Maximum call stack size exceeded"}},
		{"self-delegating generator", `require('./lib/gen.js')();`, devtest.Failed, []string{"Maximum call stack size exceeded"}},
		{"a bare name", `require('lodash');`, devtest.Failed, []string{`require("lodash"): only paths starting with ./ or ../`}},
		{"node: module", `require('node:fs');`, devtest.Failed, []string{`require("node:fs"): only paths`}},
		{"not a string", `require({toString: function() { return './lib/two.js'; }});`, devtest.Failed, []string{"require(path): want a string"}},
		{"devices have no require", `var d = device.start('lib/noreq.js'); world.after(10); expect(d).toHavePrinted('undefined');`, devtest.Passed, nil},
	}
	var src strings.Builder
	fmt.Fprintf(&src, "var __testdir = %q;\n", filepath.Join("tests"))
	for _, c := range cases {
		fmt.Fprintf(&src, "test(%q, function() {\n  %s\n});\n", c.name, c.body)
	}
	file := filepath.Join(root, "tests", "r.test.js")
	if err := os.WriteFile(file, []byte(src.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(root)
	start := time.Now()
	r := runFile(t, filepath.Join("tests", "r.test.js"), devtest.Options{})
	if r.Err != nil {
		t.Fatalf("file error: %v", r.Err)
	}
	if len(r.Tests) != len(cases) {
		t.Fatalf("%d results, want %d", len(r.Tests), len(cases))
	}
	for i, c := range cases {
		got := r.Tests[i]
		if got.Status != c.status {
			t.Errorf("%s: %s, want %s\n%s", c.name, got.Status, c.status, got.Message)
		}
		for _, m := range c.msg {
			if !strings.Contains(got.Message, m) {
				t.Errorf("%s: message lacks %q:\n%s", c.name, m, got.Message)
			}
		}
	}
	t.Logf("%d require shapes in %v", len(cases), time.Since(start))
}

// TestRequireRoot: Options.Root bounds require; with Options.FS the root is the file system.
func TestRequireRoot(t *testing.T) {
	root, _ := requireTree(t)
	src := `test('up', function() { expect(require('../lib/two.js')).toBe(2); });
test('out of the tests folder', function() { require('../../outside/x.js'); });`
	if err := os.MkdirAll(filepath.Join(root, "tests", "q"), 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(root, "tests", "q", "q.test.js")
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		opts devtest.Options
		want []devtest.Status
	}{
		{"root is the tests folder", devtest.Options{Root: filepath.Join(root, "tests")}, []devtest.Status{devtest.Passed, devtest.Failed}},
		{"root is the file's folder", devtest.Options{Root: filepath.Join(root, "tests", "q")}, []devtest.Status{devtest.Failed, devtest.Failed}},
		{"root is missing", devtest.Options{Root: filepath.Join(root, "nope")}, []devtest.Status{devtest.Failed, devtest.Failed}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runFile(t, file, tc.opts)
			if r.Err != nil || len(r.Tests) != 2 {
				t.Fatalf("%v %d", r.Err, len(r.Tests))
			}
			for i, w := range tc.want {
				if r.Tests[i].Status != w {
					t.Errorf("%s: %s, want %s: %s", r.Tests[i].Name, r.Tests[i].Status, w, r.Tests[i].Message)
				}
			}
		})
	}
	t.Run("fs.FS", func(t *testing.T) {
		fsys := fstest.MapFS{
			"t/a.test.js": {Data: []byte(`test('fs', function() { expect(require('./h.js').v).toBe(3); });
test('up and out', function() { require('../../x.js'); });
test('absolute', function() { require('/t/h.js'); });`)},
			"t/h.js":   {Data: []byte(`exports.v = require('../lib/v.js');`)},
			"lib/v.js": {Data: []byte(`module.exports = 3;`)},
		}
		r := runFile(t, "t/a.test.js", devtest.Options{FS: fsys})
		if r.Err != nil || len(r.Tests) != 3 {
			t.Fatalf("%v %d", r.Err, len(r.Tests))
		}
		for i, w := range []struct {
			s   devtest.Status
			msg string
		}{{devtest.Passed, ""}, {devtest.Failed, "../x.js is outside the test root"}, {devtest.Failed, "/t/h.js is outside the test root"}} {
			if r.Tests[i].Status != w.s || !strings.Contains(r.Tests[i].Message, w.msg) {
				t.Errorf("%s: %s %q, want %s %q", r.Tests[i].Name, r.Tests[i].Status, r.Tests[i].Message, w.s, w.msg)
			}
		}
	})
}

// TestRequireTopLevel: a require that fails at a file's top level is the file's error,
// naming the path.
func TestRequireTopLevel(t *testing.T) {
	p := writeTest(t, "var h = require('./missing.js');\ntest('a', function() {});")
	r := runFile(t, p, devtest.Options{Root: filepath.Dir(p)})
	if r.Err == nil || !strings.Contains(r.Err.Error(), `require("./missing.js"): no such file`) {
		t.Fatalf("file error %v", r.Err)
	}
}
