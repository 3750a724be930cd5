package sandbox

import (
	"strconv"
	"strings"

	"github.com/dop251/goja"
	"github.com/dop251/goja/ast"
	"github.com/dop251/goja/file"
	"github.com/dop251/goja/parser"

	"github.com/devicejs/devicejs/internal/gojainternal"
)

// The routes the rewrite cannot see (an indirect eval such as (0, eval)(s),
// Function reached through a member or by another name, the generator and
// async function constructors) are closed by replacing the built-ins
// themselves with native wrappers that check and instrument the source
// before goja parses it (evalSource, functionText):
//
//   - eval becomes a native function "eval" (length 1) that checks its
//     argument and passes it to the original eval, whose Go function it
//     calls directly: an indirect eval, in the global scope, as before.
//     goja performs a direct eval when the callee of eval(x) is the object
//     in its unexported field (*goja.Runtime).global.Eval, so that field is
//     set to the wrapper (gojainternal.EvalSlotOf): a direct eval stays direct and never
//     runs the wrapper's body (the rewrite checks its source).
//   - Function, GeneratorFunction and AsyncFunction become native
//     constructors with the originals' names, lengths and prototype
//     objects, replacing the global Function and the constructor property
//     of each prototype object. They build the text goja's own constructor
//     builds, check and instrument it, evaluate it with the original eval
//     (goja's constructor does the same) and give the result the prototype
//     of new.target, so subclasses and Reflect.construct work.
//
// goja has no async generators, so there is no AsyncGeneratorFunction.

// fnKind is one of the function constructors.
type fnKind struct {
	name   string // the constructor's name
	prefix string // the start of the text goja's constructor parses
	probe  string // an expression whose value is a function of this kind
	// writable is the constructor property's writability on the prototype
	// object (goja's: Function and AsyncFunction true, GeneratorFunction false).
	writable bool
}

var fnKinds = []fnKind{
	{name: "Function", prefix: fnPrefix, writable: true},
	{name: "GeneratorFunction", prefix: "(function* anonymous(", probe: "(function* () {})"},
	{name: "AsyncFunction", prefix: "(async function anonymous(", probe: "(async function () {})", writable: true},
}

// probes evaluates to the functions whose prototypes are the generator and
// async function prototype objects (fnKinds[1:]); a Program may run in any
// number of runtimes.
var probes = goja.MustCompile("probes.js", "["+fnKinds[1].probe+", "+fnKinds[2].probe+"]", false)

// installEvalGuard replaces eval and the function constructors on g with
// their checked wrappers (see above) and reports what it replaced:
// evalFn is the eval wrapper (nil if eval was left alone), fnGuarded
// whether the constructors were replaced. VM goroutine only.
func (sb *Sandbox) installEvalGuard(g *goja.Object) (evalFn goja.Value, fnGuarded bool) {
	orig, ok := g.Get("eval").(*goja.Object)
	if !ok {
		return nil, false
	}
	evalGo, ok := orig.Export().(func(goja.FunctionCall) goja.Value)
	if !ok {
		return nil, false
	}
	// evaluate runs src as an indirect eval (in the global scope).
	evaluate := func(src goja.Value) goja.Value {
		return evalGo(goja.FunctionCall{This: goja.Undefined(), Arguments: []goja.Value{src}})
	}
	if slot, ok := gojainternal.EvalSlotOf(sb.vm); ok && slot.Get() == orig {
		w := sb.builtinFunc("eval", 1, func(call goja.FunctionCall) goja.Value {
			if len(call.Arguments) == 0 {
				return goja.Undefined()
			}
			return evaluate(sb.evalSource(call.Arguments[0]))
		})
		slot.Set(w)
		sb.define(g, "eval", w, true)
		evalFn = w
	}
	fp := orig.Prototype() // Function.prototype, without building Function itself
	fn := sb.fnCtor(fnKinds[0], fp, evaluate)
	sb.define(g, "Function", fn, true)
	sb.define(fp, "constructor", fn, fnKinds[0].writable)
	sb.evaluate = evaluate
	return evalFn, true
}

// guardGenerators replaces the GeneratorFunction and AsyncFunction
// constructors (reachable only from a generator or async function's
// prototype chain) with their checked wrappers, once. Building their
// prototype objects costs goja about 11 KiB per runtime, so it is done only
// before source that may define a generator or an async function runs: a
// script whose parsed source has one (compile), and eval or Function source
// that contains "*" or "async" (evalSource, functionText). No such function
// can exist before then. VM goroutine only.
func (sb *Sandbox) guardGenerators() {
	if sb.evalLazy && !sb.genGuarded {
		sb.ensureEvaluate()
	}
	if sb.genGuarded || sb.evaluate == nil {
		return
	}
	sb.genGuarded = true
	v, err := sb.vm.RunProgram(probes)
	if err != nil {
		panic(err)
	}
	for i, k := range fnKinds[1:] {
		proto := v.ToObject(sb.vm).Get(strconv.Itoa(i)).ToObject(sb.vm).Prototype()
		sb.define(proto, "constructor", sb.fnCtor(k, proto, sb.evaluate), k.writable)
	}
}

// mayDefineGenerators reports whether eval or Function source src may define
// a generator or an async function (conservatively).
func mayDefineGenerators(src string) bool {
	return strings.Contains(src, "*") || strings.Contains(src, "async")
}

// fnCtor returns the checked constructor of kind k, whose prototype
// property is proto; evaluate is the original eval. VM goroutine only.
func (sb *Sandbox) fnCtor(k fnKind, proto *goja.Object, evaluate func(goja.Value) goja.Value) *goja.Object {
	var self *goja.Object
	self = sb.vm.ToValue(func(call goja.ConstructorCall) *goja.Object {
		// goja's constructor reads new.target's prototype before converting
		// the arguments.
		p := proto
		if nt := call.NewTarget; nt != nil && nt != self {
			if o, ok := nt.Get("prototype").(*goja.Object); ok {
				p = o
			}
		}
		fn := evaluate(sb.functionText(k.prefix, call.Arguments)).ToObject(sb.vm)
		if err := fn.SetPrototype(p); err != nil {
			panic(err)
		}
		return fn
	}).(*goja.Object)
	sb.define(self, "name", sb.vm.ToValue(k.name), false)
	sb.define(self, "length", sb.vm.ToValue(1), false)
	if err := self.DefineDataProperty("prototype", proto, goja.FLAG_FALSE, goja.FLAG_FALSE, goja.FLAG_FALSE); err != nil {
		panic(err)
	}
	return self
}

// define sets o's own property name to v, non-enumerable and configurable,
// as the built-ins' properties are.
func (sb *Sandbox) define(o *goja.Object, name string, v goja.Value, writable bool) {
	w := goja.FLAG_FALSE
	if writable {
		w = goja.FLAG_TRUE
	}
	if err := o.DefineDataProperty(name, v, w, goja.FLAG_TRUE, goja.FLAG_FALSE); err != nil {
		panic(err)
	}
}

// builtinFunc returns fn as a JS function with the name and length of the
// built-in it replaces (read-only, non-enumerable, configurable).
func (sb *Sandbox) builtinFunc(name string, length int, fn func(goja.FunctionCall) goja.Value) *goja.Object {
	o := sb.vm.ToValue(fn).(*goja.Object)
	sb.define(o, "name", sb.vm.ToValue(name), false)
	sb.define(o, "length", sb.vm.ToValue(length), false)
	return o
}

// functionText returns the text a function constructor parses: prefix,
// the parameter strings joined by ",", fnSep, the body, fnSuffix (goja's
// functionCtor), with each argument converted to a string once, in order.
// It throws a SyntaxError if the text nests deeper than MaxSourceDepth,
// and instruments it like eval code (the new function's own entry gets no
// depth check, see functionSource); text with lone surrogates, that does
// not parse, or whose arguments hold nothing to instrument (mayNeedInstrument)
// is returned as built (goja reports its own SyntaxError).
func (sb *Sandbox) functionText(prefix string, args []goja.Value) goja.Value {
	strs := make([]goja.String, len(args))
	var b strings.Builder
	b.WriteString(prefix)
	well, plain := true, true
	for i, a := range args {
		s, ok := a.ToString().(goja.String)
		if !ok {
			panic(sb.vm.NewTypeError("cannot convert an argument to a string"))
		}
		strs[i] = s
		if mayDefineGenerators(s.String()) {
			sb.guardGenerators()
		}
		well = well && wellFormed(s)
		plain = plain && !mayNeedInstrument(s.String())
		if i == len(args)-1 {
			break
		}
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(s.String())
	}
	b.WriteString(fnSep)
	if len(strs) > 0 {
		b.WriteString(strs[len(strs)-1].String())
	}
	b.WriteString(fnSuffix)
	src := b.String()
	sb.checkDepth(src)
	if plain && !strings.HasPrefix(prefix, "(function*") {
		// nothing to instrument but the function's own entry, which stays
		// unchecked (a generator's own entry is checked: see instrumented)
		if !well {
			return exactText(prefix, strs)
		}
		return sb.vm.ToValue(src)
	}
	prg, err := parser.ParseFile(nil, evalFile, src, 0, parser.WithDisableSourceMaps)
	if err != nil {
		if !well {
			return exactText(prefix, strs)
		}
		return sb.vm.ToValue(src)
	}
	if !well {
		sb.throwSyntaxError(errLoneSurrogate.Error())
	}
	r, p, err := instrumented(evalFile, prg, src, ownEntry(prg))
	if err != nil {
		sb.throwSyntaxError(err.Error())
	}
	if p != nil {
		return sb.vm.ToValue(r.src)
	}
	return sb.vm.ToValue(src)
}

// exactText is functionText's text built from the goja strings, which keeps
// lone surrogates.
func exactText(prefix string, strs []goja.String) goja.Value {
	var sb goja.StringBuilder
	sb.WriteUTF8String(prefix)
	for i, s := range strs {
		if i == len(strs)-1 {
			break
		}
		if i > 0 {
			sb.WriteRune(',')
		}
		sb.WriteString(s)
	}
	sb.WriteUTF8String(fnSep)
	if len(strs) > 0 {
		sb.WriteString(strs[len(strs)-1])
	}
	sb.WriteUTF8String(fnSuffix)
	return sb.String()
}

// ownEntry returns the position of the function the constructor's text
// defines (its first statement), which instrumented leaves without a depth
// check; 0 if the text is not one function expression.
func ownEntry(prg *ast.Program) file.Idx {
	if len(prg.Body) == 0 {
		return 0
	}
	if es, ok := prg.Body[0].(*ast.ExpressionStatement); ok {
		if f, ok := es.Expression.(*ast.FunctionLiteral); ok && !f.Generator {
			return f.Function
		}
	}
	return 0
}
