package sandbox

import (
	"github.com/dop251/goja"
	"github.com/dop251/goja/ast"

	"github.com/devicejs/devicejs/internal/gojainternal"
)

// enterName is the hidden property that every function reads first (as
// 0..__devicejs$enter, see hookRef): an accessor property of
// Number.prototype (and of the global object) whose getter checks the JS
// call depth. Reading it is the check; the value is undefined.
//
// A getter rather than a function: goja calls a native getter without
// pushing a call frame, so the RangeError it throws carries the stack of the
// script function being entered (its innermost frame is that function's
// first statement, as in V8), with no native frame on top; and a read costs
// less than a call (docs/runtime.md, "Benchmarks").
const enterName = "__devicejs$enter"

const (
	// enterStmt starts a block body (after its directive prologue).
	enterStmt = hookRef + enterName + ";"
	// enterExpr starts an expression body or a class field initializer:
	// "x => e" becomes "x =>0..__devicejs$enter?0: e". The getter's value is
	// undefined, so the value is e's. The alternate of a conditional is an
	// AssignmentExpression, as an arrow's expression body and an initializer
	// are, so e parses unchanged and no closing text is needed.
	enterExpr = hookRef + enterName + "?0:"
)

// depthMargin is how many frames above the configured bound (runtime.Options.MaxCallStackSize) goja's own,
// uncatchable bound sits: room for what runs at the deepest level after the
// RangeError (a catch block calling natives) and the backstop for code the
// check does not cover (see docs/runtime.md, "Call-stack bound").
const depthMargin = 64

// installDepthCheck defines the hidden enterName getter on g. The owner has set
// goja's bound to the configured limit (runtime.Options.MaxCallStackSize); the
// getter throws a catchable RangeError beyond that limit, and goja's bound
// moves depthMargin frames higher, where its uncatchable
// *goja.StackOverflowError remains the backstop. VM goroutine only.
//
// The getter bounds the try stack too, at twice the limit: a generator that
// delegates to itself (function* g() { yield* g() }) recurses in goja's Go
// code with a constant call stack, past goja's bound, until the Go stack
// overflows and kills the process; each level adds a try frame. Ordinary
// code has at most one try frame per call frame unless it nests try blocks.
func (sb *Sandbox) installDepthCheck(g *goja.Object) {
	sb.setDepthBound()
	getter := sb.enterGetter()
	for _, o := range []*goja.Object{g, sb.hookHolder()} {
		if err := o.DefineAccessorProperty(enterName, getter, nil, goja.FLAG_FALSE, goja.FLAG_FALSE); err != nil {
			panic(err)
		}
	}
	sb.defineHook(tickName, g.Get(tickName)) // Install put the tick on g
}

// setDepthBound records the configured limit and the stacks the depth check reads, and moves
// goja's own bound depthMargin frames higher (see installDepthCheck). At Install.
func (sb *Sandbox) setDepthBound() {
	if stacks, limit, ok := gojainternal.CallStacks(sb.vm); ok {
		sb.stacks, sb.depthLimit, sb.depthOK = stacks, limit, true
		sb.vm.SetMaxCallStackSize(limit + depthMargin)
	}
}

// enterGetter is the depth check's getter (see installDepthCheck), after setDepthBound.
func (sb *Sandbox) enterGetter() *goja.Object {
	check := func(goja.FunctionCall) goja.Value { return goja.Undefined() }
	if sb.depthOK {
		check = func(goja.FunctionCall) goja.Value {
			if sb.stacks.Calls() > sb.depthLimit || sb.stacks.Tries() > 2*sb.depthLimit {
				sb.rangeError("Maximum call stack size exceeded")
			}
			return goja.Undefined()
		}
	}
	return sb.nativeFunc(enterName, check)
}

// hookHolder returns Number.prototype, the object that holds the hooks the
// rewrite reaches through hookRef. VM goroutine only, before the script runs.
func (sb *Sandbox) hookHolder() *goja.Object {
	if sb.hooks == nil {
		// the prototype of a Number object is Number.prototype (ECMAScript: the intrinsic
		// %Number.prototype%, which no script can replace); reached this way goja does not
		// build the Number constructor, ~1 KB per VM that never uses it (issue 20)
		sb.hooks = sb.vm.ToValue(0).ToObject(sb.vm).Prototype()
	}
	return sb.hooks
}

// defineHook defines the hook name on hookHolder: non-enumerable,
// read-only and non-configurable, so no script can replace or delete it.
func (sb *Sandbox) defineHook(name string, v goja.Value) {
	if err := sb.hookHolder().DefineDataProperty(name, v, goja.FLAG_FALSE, goja.FLAG_FALSE, goja.FLAG_FALSE); err != nil {
		panic(err)
	}
}

// entry is the state of one function entry site of a program (a function,
// an arrow function or a class field initializer), in walk order. The
// rewrite predicts the entries of the instrumented program and the check
// after re-parsing compares them.
type entry struct {
	directives int  // leading string-literal statements of a block body ("use strict")
	checked    bool // the depth check follows them, or starts the expression
}

// entryEdit returns the insertion that puts the depth check at the entry
// of n and the entry it makes. site is false if n is not an entry site; ok
// is false if the position cannot be trusted (the site stays unchecked).
func entryEdit(n ast.Node, src string) (site bool, e entry, ed edit, ok bool) {
	switch n := n.(type) {
	case *ast.FunctionLiteral:
		e, ed, ok = blockEntry(n.Body, src)
		return true, e, ed, ok
	case *ast.ArrowFunctionLiteral:
		switch b := n.Body.(type) {
		case *ast.BlockStatement:
			e, ed, ok = blockEntry(b, src)
			return true, e, ed, ok
		case *ast.ExpressionBody:
			ed, ok = exprEntry(b.Expression, src, "=>")
			return true, entry{checked: ok}, ed, ok
		}
	case *ast.FieldDefinition:
		if n.Initializer != nil {
			ed, ok = exprEntry(n.Initializer, src, "=")
			return true, entry{checked: ok}, ed, ok
		}
	}
	return false, entry{}, edit{}, false
}

// blockEntry puts the check right after the "{" of a function body, or
// after its directive prologue so that "use strict" stays a directive.
func blockEntry(b *ast.BlockStatement, src string) (entry, edit, bool) {
	e := entry{directives: directives(b)}
	if e.directives == 0 {
		off := offset(b.LeftBrace)
		if off < 0 || off >= len(src) || src[off] != '{' {
			return e, edit{}, false
		}
		e.checked = true
		return e, edit{off: off + 1, text: enterStmt}, true
	}
	end := offset(b.List[e.directives-1].Idx1())
	if end <= 0 || end > len(src) || (src[end-1] != '"' && src[end-1] != '\'') {
		return e, edit{}, false
	}
	j := skipSpace(src, end)
	for j < len(src) && src[j] == ')' { // ("x"): goja drops the parentheses
		end = j + 1
		j = skipSpace(src, end)
	}
	if j < len(src) && src[j] == ';' {
		e.checked = true
		return e, edit{off: j + 1, text: enterStmt}, true
	}
	e.checked = true // no ";" after the directive: add one
	return e, edit{off: end, text: ";" + enterStmt}, true
}

// exprEntry puts the check right after the token tok ("=>" or "=") that
// precedes the expression x. Only blanks and opening parentheses may come
// between them: goja's position of a parenthesised expression is inside
// its parentheses.
func exprEntry(x ast.Expression, src, tok string) (edit, bool) {
	p := offset(x.Idx0())
	if p <= 0 || p > len(src) {
		return edit{}, false
	}
	for p > 0 && (isBlank(src[p-1]) || src[p-1] == '(') {
		p--
	}
	if p < len(tok) || src[p-len(tok):p] != tok {
		return edit{}, false
	}
	return edit{off: p, text: enterExpr}, true
}

// entryOf returns the entry state of n as parsed, if n is an entry site.
func entryOf(n ast.Node) (site bool, e entry) {
	switch n := n.(type) {
	case *ast.FunctionLiteral:
		return true, blockState(n.Body)
	case *ast.ArrowFunctionLiteral:
		switch b := n.Body.(type) {
		case *ast.BlockStatement:
			return true, blockState(b)
		case *ast.ExpressionBody:
			return true, entry{checked: isCheckExpr(b.Expression)}
		}
	case *ast.FieldDefinition:
		if n.Initializer != nil {
			return true, entry{checked: isCheckExpr(n.Initializer)}
		}
	}
	return false, entry{}
}

func blockState(b *ast.BlockStatement) entry {
	e := entry{directives: directives(b)}
	if e.directives < len(b.List) {
		if es, ok := b.List[e.directives].(*ast.ExpressionStatement); ok {
			e.checked = isEnter(es.Expression)
		}
	}
	return e
}

// isCheckExpr reports whether x is "0..__devicejs$enter ? 0 : ...".
func isCheckExpr(x ast.Expression) bool {
	c, ok := x.(*ast.ConditionalExpression)
	if !ok || !isEnter(c.Test) {
		return false
	}
	_, ok = c.Consequent.(*ast.NumberLiteral)
	return ok
}

func isEnter(x ast.Expression) bool { return isHook(x, enterName) }

// directives counts the leading string-literal expression statements of a
// body: its directive prologue. (A parenthesised string counts too, which
// only moves the check after a statement without effect.)
func directives(b *ast.BlockStatement) int {
	n := 0
	for _, s := range b.List {
		es, ok := s.(*ast.ExpressionStatement)
		if !ok {
			break
		}
		if _, ok := es.Expression.(*ast.StringLiteral); !ok {
			break
		}
		n++
	}
	return n
}
