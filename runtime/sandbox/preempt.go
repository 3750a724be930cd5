package sandbox

import (
	"errors"
	"reflect"
	"slices"
	"sort"
	"strings"

	"github.com/dop251/goja/ast"
	"github.com/dop251/goja/file"
	"github.com/dop251/goja/parser"
)

// tickName is the hidden function that every loop body calls first. It is a
// non-enumerable, read-only property of the global object and of
// Number.prototype; the odd name keeps it out of the way of device scripts.
const tickName = "__devicejs$tick"

// hookRef is how the rewrite reaches the hidden hooks (tick, depth check,
// source check): as properties of the number literal 0 ("0..name" reads
// Number.prototype's own, non-configurable property). A member of a literal
// involves no scope lookup, so no script name can shadow a hook: not a
// local variable, a parameter, a catch binding nor the object of a with
// statement (a Proxy whose has trap claims every name included).
const hookRef = "0.."

const tickCall = hookRef + tickName + "();"

// isHook reports whether x is "0..name" (hookRef).
func isHook(x ast.Expression, name string) bool {
	d, ok := x.(*ast.DotExpression)
	if !ok || d.Identifier.Name.String() != name {
		return false
	}
	n, ok := d.Left.(*ast.NumberLiteral)
	return ok && n.Literal == "0."
}

// edit is one text insertion into the script source. Insertions never contain
// a newline, so line numbers never move; only columns to the right of an
// insertion on the same line shift, and ColMap undoes that.
type edit struct {
	off   int    // byte offset in the original source
	text  string // inserted text
	close bool   // a closing "}" (sorts before an opening edit at the same offset)
}

// instrument rewrites prg (parsed from src) and returns the program to
// compile and the column map back to src. It inserts
//
//   - a preemption point (a call of the hidden tick function) at the start
//     of every loop body: block bodies get the call right after their "{",
//     other bodies are wrapped in "{tick(); ... }" on the same lines;
//   - the call-depth check (a read of the hidden enterName getter, depth.go)
//     at the entry of every function, after its directive prologue, of
//     every arrow function with an expression body and of every class field
//     initializer;
//   - the source check around the arguments of every direct call of eval
//     and Function (evalsource.go): eval(x) becomes
//     eval(...0..__devicejs$source(eval,x)).
//
// goja's node positions are not exact for every node type, so the result is
// re-parsed and checked: every inserted tick must start a loop body, every
// entry must be as predicted (same directives, check in place) and every
// eval and Function call must be wrapped as predicted. If that fails the
// next mode is tried: loop bodies wrapped or blocks only, with the depth
// checks, then without them (only for a program without generators). The
// eval and Function call sites are wrapped in every mode. If no mode
// passes, instrument returns errUninstrumentable and the source must not
// run (a program with nothing to insert is returned unchanged).
func instrument(filename string, prg *ast.Program, src string) (*ast.Program, *ColMap, error) {
	r, p, err := instrumented(filename, prg, src, 0)
	if p == nil {
		return prg, nil, err
	}
	restoreSources(p, r.src, src, r.edits)
	return p, r.cols, nil
}

// modes are tried in this order by instrumented. Every mode wraps the
// eval and Function calls: a direct eval the rewrite missed would reach
// goja's parser unchecked.
var modes = []mode{
	{wrap: true, entries: true, sources: true},
	{entries: true, sources: true},
	{wrap: true, sources: true},
	{sources: true},
}

// errUninstrumentable is the error of source that no mode can instrument
// safely (see safe).
var errUninstrumentable = errors.New("the source cannot be instrumented: a generator's entry or an eval or Function call site is at a position goja reports inexactly")

// instrumented returns the first rewrite of prg (parsed from src) that
// passes the check, and the program re-parsed from it; p is nil if there
// is nothing to insert or no mode passes. The function whose "function"
// keyword is at skip (if not 0) gets no depth check at its entry.
//
// err is errUninstrumentable if no mode passes safely: a rewrite is safe
// only if it wraps every eval and Function call site and, when the program
// defines a generator, puts the depth check at every generator's entry (a
// generator that delegates to itself, function* g() { yield* g() },
// recurses in goja's Go code past goja's own bound and kills the process
// unless the check stops it). Without generators a function left without
// the check still meets goja's backstop (docs/runtime.md).
func instrumented(filename string, prg *ast.Program, src string, skip file.Idx) (r rewritten, p *ast.Program, err error) {
	for _, m := range modes {
		m.skip = skip
		r, ok := rewrite(prg, src, m)
		if !ok || !r.safe(m) {
			continue
		}
		if len(r.edits) == 0 {
			return r, nil, nil
		}
		p, err := parser.ParseFile(nil, filename, r.src, 0, parser.WithDisableSourceMaps)
		if err != nil {
			continue
		}
		ticks, entries, calls := sites(p)
		if ticks == r.ticks && (!m.entries || slices.Equal(entries, r.entries)) && slices.Equal(calls, r.calls) {
			return r, p, nil
		}
	}
	return rewritten{}, nil, errUninstrumentable
}

// safe reports whether r, rewritten in mode m, leaves no eval or Function
// call site unwrapped and no generator unchecked (see instrumented).
func (r *rewritten) safe(m mode) bool {
	return !slices.Contains(r.calls, false) && !r.uncheckedGenerator && (m.entries || !r.generators)
}

// mode selects what rewrite inserts.
type mode struct {
	wrap    bool     // wrap non-block loop bodies (else only block bodies get a tick)
	entries bool     // insert the call-depth checks
	sources bool     // wrap the arguments of direct eval and Function calls
	skip    file.Idx // the "function" keyword of a function left without a depth check
}

// rewritten is the result of rewrite.
type rewritten struct {
	src     string
	cols    *ColMap
	edits   []edit  // in source order
	ticks   int     // preemption points inserted
	entries []entry // predicted entry states, in walk order (with mode.entries)
	calls   []bool  // eval and Function call sites, wrapped or not, in walk order (with mode.sources)

	generators         bool // the program defines a generator
	uncheckedGenerator bool // a generator's entry has no depth check (with mode.entries)
}

// rewrite returns src with the insertions of mode m; ok is false if a
// position was out of range.
func rewrite(prg *ast.Program, src string, m mode) (r rewritten, ok bool) {
	defer func() {
		if recover() != nil { // a position out of range: give up
			ok = false
		}
	}()
	var edits []edit
	node := func(n ast.Node) {
		gen := false
		if f, ok := n.(*ast.FunctionLiteral); ok && f.Generator {
			gen, r.generators = true, true
		}
		if m.entries || m.sources {
			if m.sources {
				if site, eds := sourceEdits(n, src); site {
					edits = append(edits, eds...)
					r.calls = append(r.calls, len(eds) > 0)
				}
			}
			if !m.entries {
				return
			}
			if f, ok := n.(*ast.FunctionLiteral); ok && m.skip != 0 && f.Function == m.skip {
				r.entries = append(r.entries, entry{directives: directives(f.Body)})
				r.uncheckedGenerator = r.uncheckedGenerator || gen
				return
			}
			site, e, ed, ok := entryEdit(n, src)
			if !site {
				return
			}
			if ok {
				edits = append(edits, ed)
			}
			r.uncheckedGenerator = r.uncheckedGenerator || gen && !e.checked
			r.entries = append(r.entries, e)
		}
	}
	walk(reflect.ValueOf(prg), make(map[nodeKey]bool), func(loop, body ast.Statement) {
		if b, ok := body.(*ast.BlockStatement); ok {
			if off := offset(b.LeftBrace); src[off] == '{' {
				edits = append(edits, edit{off: off + 1, text: tickCall})
				r.ticks++
			}
			return
		}
		if !m.wrap {
			return
		}
		start := bodyStart(loop, body, src)
		if start < 0 {
			return
		}
		edits = append(edits,
			edit{off: start, text: "{" + tickCall},
			edit{off: statementEnd(src, offset(body.Idx1())), text: "}", close: true})
		r.ticks++
	}, node)
	if len(edits) == 0 {
		return r, true
	}
	sort.SliceStable(edits, func(i, j int) bool {
		if edits[i].off != edits[j].off {
			return edits[i].off < edits[j].off
		}
		return edits[i].close && !edits[j].close
	})
	n := len(src)
	for _, e := range edits {
		n += len(e.text)
	}
	var b strings.Builder
	b.Grow(n)
	cols := &ColMap{lines: make(map[int][]insertion)}
	last, line, lineStart := 0, 1, 0
	for _, e := range edits {
		for i := last; i < e.off; i++ {
			if src[i] == '\n' {
				line, lineStart = line+1, i+1
			}
		}
		b.WriteString(src[last:e.off])
		b.WriteString(e.text)
		last = e.off
		cols.lines[line] = append(cols.lines[line], insertion{col: e.off - lineStart + 1, n: len(e.text)})
	}
	b.WriteString(src[last:])
	r.src, r.cols, r.edits = b.String(), cols, edits
	return r, true
}

// bodyStart returns the offset of the first character of a loop's non-block
// body, or -1 if it cannot be trusted: the body must directly follow the
// loop header's ")" (or the "do" keyword).
func bodyStart(loop, body ast.Statement, src string) int {
	start := offset(body.Idx0())
	if is, ok := body.(*ast.IfStatement); ok && is.If == 0 {
		// goja leaves IfStatement.If unset: find "if" before the test's "(".
		start = offset(is.Test.Idx0())
		for start > 0 && (isBlank(src[start-1]) || src[start-1] == '(') {
			start--
		}
		start -= 2
		if start < 0 || src[start:start+2] != "if" {
			return -1
		}
	}
	if start <= 0 || start >= len(src) {
		return -1
	}
	p := start
	for p > 0 && isBlank(src[p-1]) {
		p--
	}
	if _, ok := loop.(*ast.DoWhileStatement); ok {
		if p < 2 || src[p-2:p] != "do" {
			return -1
		}
	} else if p < 1 || src[p-1] != ')' {
		return -1
	}
	return start
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// sites returns the number of loop bodies of prg that are blocks starting
// with a call of the tick function, the entry state of each function entry
// site (depth.go) and whether each eval and Function call site is wrapped
// (evalsource.go), in walk order.
func sites(prg *ast.Program) (ticks int, entries []entry, calls []bool) {
	walk(reflect.ValueOf(prg), make(map[nodeKey]bool), func(_, body ast.Statement) {
		b, ok := body.(*ast.BlockStatement)
		if !ok || len(b.List) == 0 {
			return
		}
		if es, ok := b.List[0].(*ast.ExpressionStatement); ok {
			if c, ok := es.Expression.(*ast.CallExpression); ok && len(c.ArgumentList) == 0 {
				if isHook(c.Callee, tickName) {
					ticks++
				}
			}
		}
	}, func(n ast.Node) {
		if site, e := entryOf(n); site {
			entries = append(entries, e)
		}
		if site, wrapped := sourceOf(n); site {
			calls = append(calls, wrapped)
		}
	})
	return ticks, entries, calls
}

// offset converts a parser index (1-based, single file) to a byte offset.
func offset(i file.Idx) int { return int(i) - 1 }

// statementEnd returns the offset just after the statement that ends at end,
// including a following ";" (possibly after blanks and comments), so that a
// closing brace can go after it even before an "else" or a do-while "while".
func statementEnd(src string, end int) int {
	if i := skipSpace(src, end); i < len(src) && src[i] == ';' {
		return i + 1
	}
	return end
}

// skipSpace returns the offset of the first character at or after i that
// is neither blank nor in a comment (the start of an unterminated comment,
// or len(src)).
func skipSpace(src string, i int) int {
	for i < len(src) {
		switch {
		case isBlank(src[i]):
			i++
		case strings.HasPrefix(src[i:], "/*"):
			j := strings.Index(src[i+2:], "*/")
			if j < 0 {
				return i
			}
			i += j + 4
		case strings.HasPrefix(src[i:], "//"):
			j := strings.IndexByte(src[i:], '\n')
			if j < 0 {
				return i
			}
			i += j
		default:
			return i
		}
	}
	return i
}

var fileType = reflect.TypeOf((*file.File)(nil))

// nodeKey identifies a visited node; the type is part of the key because a
// struct and its first field share an address.
type nodeKey struct {
	t reflect.Type
	p uintptr
}

// walk visits every node reachable from v and calls visit with each loop
// statement and its body (for, for-in, for-of, while, do-while). Reflection keeps
// it complete for every node type, including ones added to goja later.
//
// If node is not nil it is called with every node as well. Nodes are
// visited depth first, in field order. The walk keeps its own stack rather
// than recursing: a tree a million levels deep costs heap, not Go stack
// (CheckSource bounds the depth before goja parses, this is the backstop).
func walk(v reflect.Value, seen map[nodeKey]bool, visit func(loop, body ast.Statement), node func(ast.Node)) {
	stack := []reflect.Value{v}
	for len(stack) > 0 {
		v := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		switch v.Kind() {
		case reflect.Interface:
			if !v.IsNil() {
				stack = append(stack, v.Elem())
			}
		case reflect.Pointer:
			k := nodeKey{v.Type(), v.Pointer()}
			if v.IsNil() || v.Type() == fileType || seen[k] {
				continue
			}
			seen[k] = true
			if n, ok := v.Interface().(ast.Node); ok && node != nil {
				node(n)
			}
			if visit != nil {
				visitLoop(v.Interface(), visit)
			}
			stack = append(stack, v.Elem())
		case reflect.Struct:
			for i := v.NumField() - 1; i >= 0; i-- { // pushed in reverse: popped in field order
				if v.Type().Field(i).IsExported() {
					stack = append(stack, v.Field(i))
				}
			}
		case reflect.Slice:
			for i := v.Len() - 1; i >= 0; i-- {
				stack = append(stack, v.Index(i))
			}
		}
	}
}

// visitLoop calls visit with n and its body if n is a loop statement.
func visitLoop(n any, visit func(loop, body ast.Statement)) {
	switch n := n.(type) {
	case *ast.ForStatement:
		visit(n, n.Body)
	case *ast.ForInStatement:
		visit(n, n.Body)
	case *ast.ForOfStatement:
		visit(n, n.Body)
	case *ast.WhileStatement:
		visit(n, n.Body)
	case *ast.DoWhileStatement:
		visit(n, n.Body)
	}
}

// ColMap maps positions in the instrumented source back to the original.
// A nil *ColMap is the identity.
type ColMap struct {
	lines map[int][]insertion // by line, in column order
}

type insertion struct {
	col int // 1-based column in the original line where the text was inserted
	n   int // length of the inserted text
}

// Original returns the original column of column col (1-based) on line.
// A column inside inserted text maps to the insertion point.
func (m *ColMap) Original(line, col int) int {
	if m == nil {
		return col
	}
	shift := 0
	for _, in := range m.lines[line] {
		gen := in.col + shift
		if col < gen {
			break
		}
		if col < gen+in.n {
			return in.col
		}
		shift += in.n
	}
	return col - shift
}
