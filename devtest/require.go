package devtest

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/dop251/goja"
	"github.com/dop251/goja_nodejs/require"

	"github.com/devicejs/devicejs/internal/srcfile"
	"github.com/devicejs/devicejs/runtime/sandbox"
)

// Helpers (docs/testing.md, "Helpers"): a test file, and the helpers it requires, may
// require('./x.js') other files. This is goja_nodejs's require (CommonJS: module.exports,
// exports, __filename, __dirname; each module runs once per test file and is cached), with a
// path resolver and a source loader of ours:
//   - only paths starting with ./ or ../ (relative to the requiring file) or absolute paths;
//     no node_modules, no built-in modules;
//   - the path, symbolic links followed, must be inside the test root (Options.Root);
//   - a module is read like a test file (internal/srcfile: regular files only, 16 MiB) and
//     checked and instrumented like one (runtime.Loop.InstrumentModule): the same source
//     bounds, preemption points and depth checks; source map comments are ignored;
//   - a cycle (a module required again while it is loading) is an error naming the chain.
// Every failure is a JS Error naming the path: the test (or, at the top level, the file)
// fails; nothing crashes. Device scripts have no require: a device has none.

// modulePrefix and moduleSuffix are goja_nodejs's wrapper of a module's source.
const (
	modulePrefix = "(function(exports,require,module,__filename,__dirname){"
	moduleSuffix = "\n})"
	// noSourceMap ends every module's body: goja's parser reads a source map only from a
	// "//# sourceMappingURL=" last line.
	noSourceMap = "\n;"
)

// requirer is the require of one test file's runtime. Loop only.
type requirer struct {
	f       *fileRun
	root    string // absolute, symbolic links resolved; "" with Options.FS
	rootErr error  // the root could not be resolved
	mod     *require.RequireModule
	loading []string // the modules being loaded, outermost first (cycle detection)
}

// requireError is a module that could not be loaded, with what to say.
type requireError struct{ msg string }

func (e *requireError) Error() string { return e.msg }

// setupRequire installs require on the test file's runtime.
func (f *fileRun) setupRequire(vm *goja.Runtime) error {
	r := &requirer{f: f}
	if f.opts.FS == nil {
		root := f.opts.Root
		if root == "" {
			root = "."
		}
		abs, err := filepath.Abs(root)
		if err == nil {
			abs, err = filepath.EvalSymlinks(abs)
		}
		r.root, r.rootErr = abs, err
	}
	reg := require.NewRegistry(require.WithLoader(r.load), require.WithPathResolver(r.resolve))
	r.mod = reg.Enable(vm)
	return vm.GlobalObject().Set("require", f.native(vm, "require", r.jsRequire))
}

// resolve joins a required path to the folder of the requiring file (goja_nodejs's
// PathResolver; symbolic links are followed by load's check, not here).
func (r *requirer) resolve(base, p string) string {
	if r.f.opts.FS != nil {
		return path.Join(base, p)
	}
	return filepath.Join(base, filepath.FromSlash(p))
}

// jsRequire is require(path).
func (r *requirer) jsRequire(call goja.FunctionCall) goja.Value {
	f := r.f
	name := call.Argument(0)
	if !goja.IsString(name) {
		f.throw("TypeError", fmt.Sprintf("require(path): want a string, got %s", describe(name)))
	}
	p := name.String()
	if !strings.HasPrefix(p, "./") && !strings.HasPrefix(p, "../") && !strings.HasPrefix(p, "/") {
		f.throw("Error", fmt.Sprintf("require(%q): only paths starting with ./ or ../ (relative to the requiring file) are supported; "+
			"devicejs test has no node_modules and no built-in modules", p))
	}
	base := r.caller()
	cand := r.resolve(base, p)
	if filepath.IsAbs(p) && f.opts.FS == nil {
		cand = filepath.Clean(p)
	}
	for i, l := range r.loading {
		for _, c := range []string{cand, cand + ".js", cand + ".json"} {
			if c == l {
				chain := append(append([]string{}, r.loading[i:]...), c)
				f.throw("Error", fmt.Sprintf("require(%q): a cycle: %s", p, strings.Join(chain, " -> ")))
			}
		}
	}
	mark := len(r.loading)
	defer func() { r.loading = r.loading[:mark] }()
	v, err := r.mod.Require(p)
	if err == nil {
		return v
	}
	var ex *goja.Exception
	var ie *goja.InterruptedError
	var re *requireError
	switch {
	case errors.As(err, &ie):
		panic(ie)
	case errors.As(err, &re):
		f.throw("Error", fmt.Sprintf("require(%q): %s", p, re.msg))
	case errors.As(err, &ex):
		panic(ex) // the module threw: its own error and stack
	case errors.Is(err, require.InvalidModuleError):
		f.throw("Error", fmt.Sprintf("require(%q): no such file: %s (nor %s.js)", p, cand, cand))
	}
	f.throw("Error", fmt.Sprintf("require(%q): %v", p, err))
	return nil
}

// caller is the folder of the file that called require (the test file or a module).
func (r *requirer) caller() string {
	frames := r.f.loop.VM().CaptureCallStack(2, nil)
	name := r.f.path
	if len(frames) >= 2 && frames[1].SrcName() != "" {
		name = frames[1].SrcName()
	}
	if r.f.opts.FS != nil {
		return path.Dir(name)
	}
	return filepath.Dir(name)
}

// load is the source loader: the root check, the file read and the instrumentation.
func (r *requirer) load(p string) ([]byte, error) {
	f := r.f
	limit := int64(srcfile.MaxBytes - len(modulePrefix) - len(moduleSuffix) - len(noSourceMap))
	var src []byte
	if f.opts.FS != nil {
		if !fs.ValidPath(p) {
			return nil, &requireError{fmt.Sprintf("%s is outside the test root (the test files' file system)", p)}
		}
		st, err := fs.Stat(f.opts.FS, p)
		if errors.Is(err, fs.ErrNotExist) || err == nil && st.IsDir() {
			return nil, require.ModuleFileDoesNotExistError
		}
		if src, err = srcfile.ReadFS(f.opts.FS, p, limit); err != nil {
			return nil, &requireError{err.Error()}
		}
	} else {
		if r.rootErr != nil {
			return nil, &requireError{fmt.Sprintf("the test root: %v", r.rootErr)}
		}
		abs, err := filepath.Abs(p)
		if err != nil {
			return nil, &requireError{err.Error()}
		}
		real, err := filepath.EvalSymlinks(abs)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			if !within(r.root, abs) {
				return nil, &requireError{fmt.Sprintf("%s is outside the test root %s", p, r.root)}
			}
			return nil, require.ModuleFileDoesNotExistError
		case err != nil:
			return nil, &requireError{fmt.Sprintf("%s: %v", p, err)}
		}
		if !within(r.root, real) {
			what := p
			if real != abs {
				what = fmt.Sprintf("%s (a link to %s)", p, real)
			}
			return nil, &requireError{fmt.Sprintf("%s is outside the test root %s", what, r.root)}
		}
		if st, err := os.Stat(real); err == nil && st.IsDir() {
			return nil, require.ModuleFileDoesNotExistError
		}
		if src, err = srcfile.ReadLimit(real, limit); err != nil {
			return nil, &requireError{err.Error()}
		}
	}
	r.loading = append(r.loading, p)
	if strings.HasSuffix(p, ".json") {
		// goja_nodejs parses it with JSON.parse: bound its nesting like source.
		if err := sandbox.CheckSource(string(src)); err != nil {
			return nil, &requireError{fmt.Sprintf("%s: %v", p, err)}
		}
		return src, nil
	}
	body, err := f.loop.InstrumentModule(p, modulePrefix, string(src)+noSourceMap, moduleSuffix)
	if err != nil {
		return nil, &requireError{err.Error()}
	}
	return []byte(body), nil
}

// within reports whether path p is root or inside it (both absolute and clean).
func within(root, p string) bool {
	if p == root {
		return true
	}
	rel, err := filepath.Rel(root, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}
