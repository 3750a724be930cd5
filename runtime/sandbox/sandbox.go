// Package sandbox holds what keeps a device script from harming the process that runs it,
// for one goja VM at a time:
//
//   - source bounds (srcbound*.go: CheckSource, MaxSourceBytes, MaxSourceNesting): the size and
//     nesting checked before goja's recursive parser sees any source;
//   - instrumentation (preempt.go, depth.go, evalsource.go, fnsource.go): the rewrite that puts
//     a preemption point in every loop body, a call-depth check at every function entry and a
//     source check around every eval and Function call, mapping columns back (ColMap);
//   - the eval and function-constructor guards (evalguard.go) for the routes the rewrite
//     cannot see, built when the script first reaches eval or Function (evalguard_lazy.go);
//   - the built-in guards (limits.go: JSON, join, repeat, pad; the limit constants), the memory
//     guards against a budget (guard_memory.go), the allocation guards of every VM
//     (guard_alloc.go: AllocationCap, NewArrayBuffer) and their lazy installation through
//     goja's templates (guard_lazy.go).
//
// Entry points: a Sandbox, embedded in its owner (runtime.Loop) so that it costs no
// allocation of its own, is attached to a fresh VM (Attach, before anything builds a
// built-in), then installs its hooks (Install, given the owner's preemption tick);
// Compile takes a script through bound → parse → instrument → compile, InstrumentModule does
// the same for a module body. The owner gives the sandbox what it needs of the event loop as
// a Host: ending the run (Interrupt), the run's budget error (BudgetError) and the device's
// own heap estimate (DeviceEstimate). goja's unexported internals are reached only through
// internal/gojainternal; the AST walk here is ordinary reflect over goja/ast's exported
// fields.
//
// Goroutine rule: a Sandbox is used on its VM's goroutine only (the loop goroutine), except
// for the process-wide functions (CheckSource, AllocationCap, AllocGuardsOn, HeapFigures),
// which are safe from any goroutine. Imports: goja, regexp2 and internal/gojainternal; never
// package runtime (runtime imports sandbox), the MQTT stack or the bindings.
//
// The package is over 2.5k lines (about 3.6k) on purpose: it is the one boundary between a
// script and the process, with one narrow entry (Attach, Install, Compile). The source bounds,
// the rewrite, the eval guards and the built-in guards share the hidden hooks, the rewrite's
// self-checks and the per-VM state (Sandbox); splitting them into packages would export that
// coupling as API rather than remove it.
package sandbox

import (
	"fmt"
	"reflect"
	"runtime/metrics"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/dop251/goja"
	"github.com/dop251/goja/ast"
	"github.com/dop251/goja/parser"

	"github.com/devicejs/devicejs/internal/gojainternal"
)

// Host is what the sandbox needs of the event loop that owns its VM.
type Host interface {
	// Interrupt ends the run with err; JS cannot catch it. Any goroutine.
	Interrupt(err error)
	// BudgetError is the run's error for a memory budget exceeded; msg says by what.
	BudgetError(msg string) error
	// DeviceEstimate is the device's own heap estimate in bytes, and ok true when the memory
	// guards weigh a call against it (a per-device budget) instead of the process heap.
	DeviceEstimate() (est int64, ok bool)
}

// Sandbox is the sandbox state of one VM. Its zero value is ready for Attach; it must not be
// copied after.
type Sandbox struct {
	vm          *goja.Runtime
	host        Host
	guardBudget int64                       // the memory guards' budget in bytes; 0: no memory guards
	evaluate    func(goja.Value) goja.Value // the original eval, indirect (evalguard.go); nil if not guarded
	joinDepth   int                         // nesting of the Array.prototype.join guard (limits.go)
	lazy        bool                        // the built-in guards are installed lazily (guard_lazy.go)
	genGuarded  bool                        // guardGenerators has run
	evalLazy    bool                        // eval and Function are guarded when first built (evalguard_lazy.go)
	evalOrig    *goja.Object                // goja's eval, never reachable from the script (lazy eval guards)
	evalFn      *goja.Object                // the checked eval, once built (lazy eval guards)
	fnChecked   *goja.Object                // the checked Function, once built (lazy eval guards)
	hooks       *goja.Object                // Number.prototype, which holds the hidden hooks (hookHolder)

	// the hidden hooks, built on first read with lazy hooks (hooks_lazy.go)
	hooksLazy                    bool
	tick                         func(goja.FunctionCall) goja.Value
	tickObj, enterObj, sourceObj *goja.Object
	srcEvalFn                    goja.Value // installSourceCheck's evalFn and fnGuarded
	srcFnGuarded                 bool
	stacks                       gojainternal.Stacks // the call and try stacks the depth check bounds
	depthLimit                   int
	depthOK                      bool // stacks and depthLimit are set
}

// Attach binds sb to vm, a fresh runtime whose owner is host. budget is the memory guards'
// budget in bytes (0: none). Call it before anything builds JSON, Array, String or their
// prototypes' methods in vm: it registers vm for the lazy guards (guard_lazy.go; goja's
// templates are patched at init). The registry holds sb weakly, so the owner must keep sb
// reachable while vm runs, or a guard or hidden hook built late finds no sandbox (it is then
// undefined): runtime's Loop does, since its globals (print, the timers) are bound to the loop
// that holds sb.
func (sb *Sandbox) Attach(vm *goja.Runtime, budget int64, host Host) {
	sb.vm, sb.host, sb.guardBudget = vm, host, budget
	sb.lazy = sb.registerLazyGuards()
	sb.evalLazy = sb.lazy && lazyEvalOn
	sb.hooksLazy = sb.lazy && lazyHooksOn
}

// Install defines the hidden hooks on the global object and Number.prototype (the preemption
// tick, the call-depth check, the source check) and, where goja's templates could not be
// patched, the checked eval and function constructors (else built when the script first
// reaches them: evalguard_lazy.go) and the built-in guards.
// tick is the owner's preemption point, which every loop body calls first. Call it once,
// after Attach and after the owner's own globals.
func (sb *Sandbox) Install(tick func(goja.FunctionCall) goja.Value) {
	g := sb.vm.GlobalObject()
	if sb.hooksLazy { // hooks_lazy.go: the hooks are built when first read
		sb.tick = tick
		sb.setDepthBound()
		if sb.evalLazy {
			sb.srcFnGuarded = true
		} else {
			sb.srcEvalFn, sb.srcFnGuarded = sb.installEvalGuard(g)
		}
		if !sb.lazy {
			sb.installGuards()
		}
		return
	}
	if err := g.DefineDataProperty(tickName, sb.nativeFunc(tickName, tick), goja.FLAG_FALSE, goja.FLAG_FALSE, goja.FLAG_FALSE); err != nil {
		panic(err)
	}
	sb.installDepthCheck(g)
	if sb.evalLazy { // evalguard_lazy.go: eval and Function get their guards when first built
		sb.installSourceCheck(g, nil, true)
	} else {
		evalFn, fnGuarded := sb.installEvalGuard(g)
		sb.installSourceCheck(g, evalFn, fnGuarded)
	}
	if !sb.lazy {
		sb.installGuards()
	}
}

// nativeFunc returns fn as a JS function whose name (shown in stack traces and by fn.name) is
// name rather than the Go function's name, made from the process's template of that name
// (gojainternal.FuncTemplate). VM goroutine only.
func (sb *Sandbox) nativeFunc(name string, fn func(goja.FunctionCall) goja.Value) *goja.Object {
	t, ok := funcTemplates.Load(name)
	if !ok {
		t, _ = funcTemplates.LoadOrStore(name, gojainternal.NewFuncTemplate(name, 0))
	}
	return t.(*gojainternal.FuncTemplate).New(sb.vm, fn)
}

// funcTemplates are nativeFunc's templates by name: the hooks' and the guards' names, a
// fixed set.
var funcTemplates sync.Map

// budgetError is the host's budget error with a formatted message.
func (sb *Sandbox) budgetError(format string, args ...any) error {
	return sb.host.BudgetError(fmt.Sprintf(format, args...))
}

// A RefusedError is Compile's or InstrumentModule's error for source the sandbox will not let
// run: too long or nested too deep (Err is a *SourceBoundError), or not instrumentable. Any
// other error of theirs is goja's parse or compile error.
type RefusedError struct{ Err error }

func (e *RefusedError) Error() string { return e.Err.Error() }
func (e *RefusedError) Unwrap() error { return e.Err }

// compiled is a compiled script: a *goja.Program is immutable and may run in any number of
// runtimes at once, and the column map is only read after instrument returns.
type compiled struct {
	filename, src string
	prg           *goja.Program
	cols          *ColMap
	generators    bool // the script defines a generator or an async function
}

// lastCompiled is the most recent successful compilation, reused when the next VM runs the
// same filename and source: a fleet of N loops running one script parses, instruments and
// compiles it once instead of N times. It holds only immutable values.
var lastCompiled atomic.Pointer[compiled]

// Compile checks src against the source bounds (CheckSource), parses it, inserts the
// preemption points, depth checks and source checks, and compiles the result. Source map
// comments are ignored (never loaded from disk). cols maps the compiled program's columns back
// to src (nil: the identity); it is set whenever the rewrite ran, also with a compile error.
// A script that defines a generator or an async function gets their constructors' guards
// first. VM goroutine only.
func (sb *Sandbox) Compile(filename, src string) (prg *goja.Program, cols *ColMap, err error) {
	if c := lastCompiled.Load(); c != nil && c.filename == filename && c.src == src {
		if c.generators {
			sb.guardGenerators()
		}
		return c.prg, c.cols, nil
	}
	if err := CheckSource(src); err != nil {
		return nil, nil, &RefusedError{err}
	}
	parsed, err := parser.ParseFile(nil, filename, src, 0, parser.WithDisableSourceMaps)
	if err != nil {
		return nil, nil, err
	}
	gen := mayDefineGenerators(src) && definesGenerators(parsed) // the walk only when it can matter
	parsed, cols, err = instrument(filename, parsed, src)
	if err != nil {
		return nil, cols, &RefusedError{err}
	}
	p, err := goja.CompileAST(parsed, false)
	if err != nil {
		return nil, cols, err
	}
	lastCompiled.Store(&compiled{filename: filename, src: src, prg: p, cols: cols, generators: gen})
	if gen {
		sb.guardGenerators()
	}
	return p, cols, nil
}

// definesGenerators reports whether prg defines a generator or an async function (see
// guardGenerators).
func definesGenerators(prg *ast.Program) bool {
	found := false
	walk(reflect.ValueOf(prg), make(map[nodeKey]bool), nil, func(n ast.Node) {
		switch f := n.(type) {
		case *ast.FunctionLiteral:
			found = found || f.Async || f.Generator
		case *ast.ArrowFunctionLiteral:
			found = found || f.Async
		}
	})
	return found
}

// InstrumentModule checks and instruments body, the source of a module that the caller
// compiles as prefix + body + suffix (a function expression, as goja_nodejs's require wraps a
// CommonJS module), the way Compile checks and instruments a script: CheckSource on the whole
// text, goja's parse, then the preemption points, the call-depth checks and the eval and
// Function source checks (and the generator guards, when it defines a generator or an async
// function). It returns the instrumented body: prefix + it + suffix is the instrumented
// function. Line numbers are kept; columns to the right of an inserted check shift.
//
// Source that is too long, too deep or cannot be instrumented gives a *RefusedError; source
// that does not parse, goja's parse error (positioned in prefix + body + suffix). VM
// goroutine only.
func (sb *Sandbox) InstrumentModule(filename, prefix, body, suffix string) (string, error) {
	src := prefix + body + suffix
	if err := CheckSource(src); err != nil {
		return "", &RefusedError{err}
	}
	prg, err := parser.ParseFile(nil, filename, src, 0, parser.WithDisableSourceMaps)
	if err != nil {
		return "", err
	}
	if mayDefineGenerators(src) && definesGenerators(prg) {
		sb.guardGenerators()
	}
	r, p, err := instrumented(filename, prg, src, 0)
	if err != nil {
		return "", &RefusedError{err}
	}
	if p == nil {
		return body, nil
	}
	// Every insertion must fall inside the body (the wrapper function's own entry check goes
	// right after prefix's "{", at the body's start).
	end := len(prefix) + len(body)
	for _, e := range r.edits {
		if e.off < len(prefix) || e.off > end {
			return "", &RefusedError{errUninstrumentable}
		}
	}
	if !strings.HasPrefix(r.src, prefix) || !strings.HasSuffix(r.src, suffix) {
		return "", &RefusedError{errUninstrumentable}
	}
	return r.src[len(prefix) : len(r.src)-len(suffix)], nil
}

// HeapFigures reads the live heap bytes as of the last collection and the bytes of heap
// objects now; samples must be {"/gc/heap/live:bytes", "/memory/classes/heap/objects:bytes"}.
// The one reading of the process heap for the memory guards and runtime's watchdogs. Any
// goroutine (with its own samples).
func HeapFigures(samples []metrics.Sample) (live, objects uint64) {
	metrics.Read(samples)
	for i, p := range []*uint64{&live, &objects} {
		if samples[i].Value.Kind() == metrics.KindUint64 {
			*p = samples[i].Value.Uint64()
		}
	}
	return live, objects
}

// mib formats a byte count in MiB.
func mib(n uint64) string { return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20)) }
