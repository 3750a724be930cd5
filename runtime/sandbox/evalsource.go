package sandbox

import (
	"errors"
	"strings"

	"github.com/dop251/goja"
	"github.com/dop251/goja/ast"
	"github.com/dop251/goja/file"
	"github.com/dop251/goja/parser"

	"github.com/devicejs/devicejs/internal/gojainternal"
)

// sourceName is the hidden global that checks source code built at run time
// before goja parses it. The rewrite (preempt.go) passes it the arguments of
// every direct call of eval and Function, with the callee first:
//
//	eval(x)             eval(...0..__devicejs$source(eval,x))
//	new Function(a, b)  new Function(...0..__devicejs$source(Function,a, b))
//
// The callee stays the identifier eval, so a direct eval stays direct (it
// sees the caller's scope). The spread iterates an object with its own
// iterator, so a script's Array.prototype[Symbol.iterator] is not involved.
const sourceName = "__devicejs$source"

// sourceOpen is the text inserted after the "(" of a call of callee; ")"
// goes before the call's ")".
func sourceOpen(callee string) string { return "..." + hookRef + sourceName + "(" + callee + "," }

// evalFile is the file name goja gives eval'd code in positions.
const evalFile = "<eval>"

// Function's wrapping of its arguments (goja's functionCtor): the joined
// parameters go between fnPrefix and fnSep, the body between fnSep and
// fnSuffix.
const (
	fnPrefix = "(function anonymous("
	fnSep    = "\n) {\n"
	fnSuffix = "\n})"
)

// callSite reports whether n is a call of eval or Function (or new
// Function) by plain identifier, with at least one argument, and returns
// the callee's name and the positions of the argument list's parentheses.
func callSite(n ast.Node) (name string, lp, rp file.Idx, ok bool) {
	var callee ast.Expression
	var args []ast.Expression
	switch n := n.(type) {
	case *ast.CallExpression:
		callee, args, lp, rp = n.Callee, n.ArgumentList, n.LeftParenthesis, n.RightParenthesis
	case *ast.NewExpression:
		callee, args, lp, rp = n.Callee, n.ArgumentList, n.LeftParenthesis, n.RightParenthesis
	default:
		return "", 0, 0, false
	}
	id, isID := callee.(*ast.Identifier)
	if !isID || len(args) == 0 {
		return "", 0, 0, false
	}
	if _, isNew := n.(*ast.NewExpression); (id.Name != "eval" || isNew) && id.Name != "Function" {
		return "", 0, 0, false
	}
	return id.Name.String(), lp, rp, true
}

// sourceEdits returns the insertions that wrap the arguments of n, if n is
// a call site (callSite); eds is empty if the parentheses are not where
// goja says (the site stays unwrapped).
func sourceEdits(n ast.Node, src string) (site bool, eds []edit) {
	name, lp, rp, ok := callSite(n)
	if !ok {
		return false, nil
	}
	sb, r := offset(lp), offset(rp)
	if sb < 0 || r <= sb || r >= len(src) || src[sb] != '(' || src[r] != ')' {
		return true, nil
	}
	return true, []edit{{off: sb + 1, text: sourceOpen(name)}, {off: r, text: ")", close: true}}
}

// sourceOf reports whether n is a call site (callSite) and whether its
// arguments are wrapped: a single spread of a call of sourceName whose
// first argument is the callee's name.
func sourceOf(n ast.Node) (site, wrapped bool) {
	name, _, _, ok := callSite(n)
	if !ok {
		return false, false
	}
	var args []ast.Expression
	switch n := n.(type) {
	case *ast.CallExpression:
		args = n.ArgumentList
	case *ast.NewExpression:
		args = n.ArgumentList
	}
	if len(args) != 1 {
		return true, false
	}
	sp, ok := args[0].(*ast.SpreadElement)
	if !ok {
		return true, false
	}
	c, ok := sp.Expression.(*ast.CallExpression)
	if !ok || len(c.ArgumentList) < 2 {
		return true, false
	}
	a, ok := c.ArgumentList[0].(*ast.Identifier)
	return true, ok && isHook(c.Callee, sourceName) && a.Name.String() == name
}

// installSourceCheck defines the hidden sourceName function on g and on
// hookHolder: non-enumerable, read-only, like the tick. It recognises the built-in eval
// and Function by identity. evalFn is the checked eval (evalguard.go); if
// it is nil, with lazy eval guards (evalguard_lazy.go) the first call builds the checked
// eval (sb.checkedEval) before it touches the direct-eval slot; without them eval and
// Function are read from g at the first call rather than here, because goja builds a
// built-in on first access. With
// fnGuarded, Function checks its own arguments and a call of it passes
// them on unchanged. VM goroutine only.
//
// The callee is evaluated twice, once as the call's callee and once as the
// check's first argument, and a getter (an accessor eval on the global
// object or on a with object) can answer the real eval to the first and
// something else to the second. So the check also decides whether the call
// that follows may be a direct eval: goja performs one only when the callee
// is the object in (*goja.Runtime).global.Eval (evalguard.go), which the
// check points at the checked eval when it saw eval, and at an object no
// script can reach when it did not. The call of a real eval then runs the
// checked eval's body, an indirect eval of the checked source.
func (sb *Sandbox) installSourceCheck(g *goja.Object, evalFn goja.Value, fnGuarded bool) {
	fn := sb.sourceFunc(g, evalFn, fnGuarded)
	if err := g.DefineDataProperty(sourceName, fn, goja.FLAG_FALSE, goja.FLAG_FALSE, goja.FLAG_FALSE); err != nil {
		panic(err)
	}
	sb.defineHook(sourceName, fn)
}

// sourceFunc is the source check function of installSourceCheck.
func (sb *Sandbox) sourceFunc(g *goja.Object, evalFn goja.Value, fnGuarded bool) *goja.Object {
	var fnCtor goja.Value
	read := evalFn != nil
	slot, direct := gojainternal.EvalSlotOf(sb.vm)
	direct = direct && evalFn != nil && goja.Value(slot.Get()) == evalFn
	var unreachable *goja.Object
	check := func(call goja.FunctionCall) goja.Value {
		if !read && sb.evalLazy {
			// evalguard_lazy.go: build the checked eval (which takes the direct-eval slot)
			// before this check first sets the slot; runs no script code.
			evalFn, read = sb.checkedEval(), true
			direct = goja.Value(slot.Get()) == evalFn
		}
		if direct { // last, after the conversions that may run script code
			if unreachable == nil {
				unreachable = sb.vm.NewObject()
			}
			defer func() {
				if call.Argument(0).SameAs(evalFn) {
					slot.Set(evalFn.(*goja.Object))
				} else {
					slot.Set(unreachable)
				}
			}()
		}
		if !read {
			evalFn, read = g.Get("eval"), true
			if !fnGuarded {
				fnCtor = g.Get("Function")
			}
		}
		callee := call.Argument(0)
		var args []goja.Value
		if len(call.Arguments) > 1 {
			args = append(args, call.Arguments[1:]...) // call.Arguments is not ours to keep
		}
		switch {
		case len(args) == 0:
		case callee.SameAs(evalFn):
			args[0] = sb.evalSource(args[0])
		case fnCtor != nil && callee.SameAs(fnCtor):
			args = sb.functionSource(args)
		}
		return sb.iterable(args)
	}
	return sb.nativeFunc(sourceName, check)
}

// evalSource checks the argument of a direct eval: a non-string is
// returned unchanged (eval returns it). A string nested deeper than
// MaxSourceDepth throws a SyntaxError; otherwise the string is returned
// instrumented like a script (loop ticks, depth checks, source checks), or
// unchanged if it does not parse as a script (goja then reports its own
// SyntaxError), if it has lone surrogates (which the conversion to Go would
// lose), or if the rewrite's check fails.
func (sb *Sandbox) evalSource(v goja.Value) goja.Value {
	s, ok := v.(goja.String)
	if !ok {
		return v
	}
	src := s.String()
	sb.checkDepth(src)
	if mayDefineGenerators(src) {
		sb.guardGenerators()
	}
	if !mayNeedInstrument(src) {
		return v
	}
	prg, err := parser.ParseFile(nil, evalFile, src, 0, parser.WithDisableSourceMaps)
	if err != nil {
		return v
	}
	if !wellFormed(s) {
		sb.throwSyntaxError(errLoneSurrogate.Error())
	}
	r, p, err := instrumented(evalFile, prg, src, 0)
	if err != nil {
		sb.throwSyntaxError(err.Error())
	}
	if p != nil {
		return sb.vm.ToValue(r.src)
	}
	return v
}

// errLoneSurrogate refuses eval or Function source that holds a lone
// surrogate and something to instrument: the conversion to Go text that
// the rewrite works on would replace the surrogate, so the source would
// have to run uninstrumented (without depth checks) or altered.
var errLoneSurrogate = errors.New("source with a lone surrogate (an unpaired \\uD800-\\uDFFF character) cannot be instrumented")

// functionSource checks the arguments of Function: each is converted to a
// string (in order, once, as Function does) and the source Function will
// parse (fnPrefix, the parameters joined by ",", fnSep, the body,
// fnSuffix) must not nest deeper than MaxSourceDepth. The source is
// instrumented like a script, except that the new function's own entry
// gets no depth check (recursion through it meets goja's backstop, see
// docs/runtime.md), and returned as one parameter string and the body.
// If it does not parse, or the instrumented text cannot be split back into
// parameters and body, the converted strings are returned unchanged.
func (sb *Sandbox) functionSource(args []goja.Value) []goja.Value {
	if len(args) == 0 {
		return args
	}
	strs := make([]goja.String, len(args))
	plain := make([]string, len(args))
	well := true
	for i, a := range args {
		s, ok := a.ToString().(goja.String)
		if !ok {
			return args
		}
		strs[i], plain[i] = s, s.String()
		args[i] = s
		well = well && wellFormed(s)
	}
	params := strings.Join(plain[:len(plain)-1], ",")
	src := fnPrefix + params + fnSep + plain[len(plain)-1] + fnSuffix
	sb.checkDepth(src)
	prg, err := parser.ParseFile(nil, evalFile, src, 0, parser.WithDisableSourceMaps)
	if err != nil {
		return args
	}
	if !well {
		sb.throwSyntaxError(errLoneSurrogate.Error())
	}
	r, p, err := instrumented(evalFile, prg, src, 2) // "function" is at offset 1, file.Idx 2
	if err != nil {
		sb.throwSyntaxError(err.Error())
	}
	if p == nil {
		return args
	}
	ps, ok := splitFunction(r, len(params), len(src))
	if !ok || (len(args) == 1 && ps[0] != "") {
		return args
	}
	if len(args) == 1 {
		return []goja.Value{sb.vm.ToValue(ps[1])}
	}
	return []goja.Value{sb.vm.ToValue(ps[0]), sb.vm.ToValue(ps[1])}
}

// splitFunction splits r, the instrumented Function source of a parameter
// list of n bytes and total length size, back into the parameter list and
// the body. Text inserted at the end of the parameters belongs to them,
// text at the start or end of the body to the body; anything inserted
// into fnPrefix, fnSep or fnSuffix makes ok false.
func splitFunction(r rewritten, n, size int) (ps [2]string, ok bool) {
	sepStart := len(fnPrefix) + n
	bodyEnd := size - len(fnSuffix)
	at := sepStart // where fnSep starts in r.src
	for _, e := range r.edits {
		switch {
		case e.off < len(fnPrefix), e.off > sepStart && e.off < sepStart+len(fnSep), e.off > bodyEnd:
			return ps, false
		case e.off <= sepStart:
			at += len(e.text)
		}
	}
	if !strings.HasPrefix(r.src, fnPrefix) || !strings.HasPrefix(r.src[at:], fnSep) || !strings.HasSuffix(r.src, fnSuffix) {
		return ps, false
	}
	return [2]string{r.src[len(fnPrefix):at], r.src[at+len(fnSep) : len(r.src)-len(fnSuffix)]}, true
}

// mayNeedInstrument reports whether src may hold something instrument
// changes: a loop, a function (every function body has a "{", an arrow
// with an expression body has "=>"), a call of eval or Function, or an
// escape that could spell one. It spares the parsing of plain expressions
// (eval('a + 1')), which would otherwise double the cost of such an eval.
func mayNeedInstrument(src string) bool {
	for _, w := range []string{"{", "=>", "for", "while", "do", "eval", "Function", "\\"} {
		if strings.Contains(src, w) {
			return true
		}
	}
	return false
}

// checkDepth throws a SyntaxError if src is too long or nested too deep
// for goja's parser (CheckSource: the check and message of a script's own
// source).
func (sb *Sandbox) checkDepth(src string) {
	if bound := CheckSource(src); bound != nil {
		sb.throwSyntaxError(bound.Error())
	}
}

// throwSyntaxError throws a SyntaxError with message msg. VM goroutine only.
func (sb *Sandbox) throwSyntaxError(msg string) {
	ctor := sb.vm.GlobalObject().Get("SyntaxError")
	obj, err := sb.vm.New(ctor, sb.vm.ToValue(msg))
	if err != nil {
		panic(err)
	}
	panic(obj)
}

// wellFormed reports whether s has no lone surrogates.
func wellFormed(s goja.String) bool {
	for i, n := 0, s.Length(); i < n; i++ {
		c := s.CharAt(i)
		switch {
		case c >= 0xD800 && c < 0xDC00:
			if i+1 >= n || s.CharAt(i+1) < 0xDC00 || s.CharAt(i+1) >= 0xE000 {
				return false
			}
			i++
		case c >= 0xDC00 && c < 0xE000:
			return false
		}
	}
	return true
}

// iterable returns an object whose own Symbol.iterator yields vals: the
// spread of the rewritten call uses nothing the script can replace.
func (sb *Sandbox) iterable(vals []goja.Value) goja.Value {
	vm := sb.vm
	define := func(o *goja.Object, name string, v goja.Value) {
		if err := o.DefineDataProperty(name, v, goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_TRUE); err != nil {
			panic(err)
		}
	}
	it := vm.NewObject()
	i := 0
	define(it, "next", vm.ToValue(func(goja.FunctionCall) goja.Value {
		res := vm.NewObject()
		if i < len(vals) {
			define(res, "value", vals[i])
			define(res, "done", vm.ToValue(false))
			i++
		} else {
			define(res, "value", goja.Undefined())
			define(res, "done", vm.ToValue(true))
		}
		return res
	}))
	o := vm.NewObject()
	if err := o.DefineDataPropertySymbol(goja.SymIterator, vm.ToValue(func(goja.FunctionCall) goja.Value { return it }),
		goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_TRUE); err != nil {
		panic(err)
	}
	return o
}
