package runtime

import (
	"reflect"
	"sort"
	"strings"

	"github.com/dop251/goja/ast"
	"github.com/dop251/goja/file"
)

// tickName is the hidden global that every loop body calls first. It is a
// non-enumerable, read-only property of the global object; the odd name keeps
// it out of the way of device scripts.
const tickName = "__devicejs$tick"

const tickCall = tickName + "();"

// edit is one text insertion into the script source. Insertions never contain
// a newline, so line numbers never move; only columns to the right of an
// insertion on the same line shift, and colMap undoes that.
type edit struct {
	off   int    // byte offset in the original source
	text  string // inserted text
	close bool   // a closing "}" (sorts before an opening edit at the same offset)
}

// instrument returns src with a preemption point (a call of the hidden tick
// function) at the start of every loop body, and the column map back to src.
// Block bodies get the call right after their "{"; other bodies are wrapped
// in "{tick(); ... }" on the same lines.
func instrument(prg *ast.Program, src string) (string, *colMap) {
	var edits []edit
	seen := make(map[nodeKey]bool)
	walk(reflect.ValueOf(prg), seen, func(body ast.Statement) {
		if b, ok := body.(*ast.BlockStatement); ok {
			edits = append(edits, edit{off: offset(b.LeftBrace) + 1, text: tickCall})
			return
		}
		edits = append(edits,
			edit{off: offset(body.Idx0()), text: "{" + tickCall},
			edit{off: statementEnd(src, offset(body.Idx1())), text: "}", close: true})
	})
	if len(edits) == 0 {
		return src, nil
	}
	sort.SliceStable(edits, func(i, j int) bool {
		if edits[i].off != edits[j].off {
			return edits[i].off < edits[j].off
		}
		return edits[i].close && !edits[j].close
	})
	var b strings.Builder
	b.Grow(len(src) + len(edits)*len(tickCall))
	m := &colMap{lines: make(map[int][]insertion)}
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
		m.lines[line] = append(m.lines[line], insertion{col: e.off - lineStart + 1, n: len(e.text)})
	}
	b.WriteString(src[last:])
	return b.String(), m
}

// offset converts a parser index (1-based, single file) to a byte offset.
func offset(i file.Idx) int { return int(i) - 1 }

// statementEnd returns the offset just after the statement that ends at end,
// including a following ";" (possibly after blanks and comments), so that a
// closing brace can go after it even before an "else" or a do-while "while".
func statementEnd(src string, end int) int {
	i := end
	for i < len(src) {
		switch {
		case src[i] == ' ' || src[i] == '\t' || src[i] == '\r' || src[i] == '\n':
			i++
		case strings.HasPrefix(src[i:], "/*"):
			j := strings.Index(src[i+2:], "*/")
			if j < 0 {
				return end
			}
			i += j + 4
		case strings.HasPrefix(src[i:], "//"):
			j := strings.IndexByte(src[i:], '\n')
			if j < 0 {
				return end
			}
			i += j
		case src[i] == ';':
			return i + 1
		default:
			return end
		}
	}
	return end
}

var fileType = reflect.TypeOf((*file.File)(nil))

// nodeKey identifies a visited node; the type is part of the key because a
// struct and its first field share an address.
type nodeKey struct {
	t reflect.Type
	p uintptr
}

// walk visits every node reachable from v and calls visit with the body of
// each loop statement (for, for-in, for-of, while, do-while). Reflection keeps
// it complete for every node type, including ones added to goja later.
func walk(v reflect.Value, seen map[nodeKey]bool, visit func(ast.Statement)) {
	switch v.Kind() {
	case reflect.Interface:
		if !v.IsNil() {
			walk(v.Elem(), seen, visit)
		}
	case reflect.Pointer:
		k := nodeKey{v.Type(), v.Pointer()}
		if v.IsNil() || v.Type() == fileType || seen[k] {
			return
		}
		seen[k] = true
		switch n := v.Interface().(type) {
		case *ast.ForStatement:
			visit(n.Body)
		case *ast.ForInStatement:
			visit(n.Body)
		case *ast.ForOfStatement:
			visit(n.Body)
		case *ast.WhileStatement:
			visit(n.Body)
		case *ast.DoWhileStatement:
			visit(n.Body)
		}
		walk(v.Elem(), seen, visit)
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				walk(v.Field(i), seen, visit)
			}
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			walk(v.Index(i), seen, visit)
		}
	}
}

// colMap maps positions in the instrumented source back to the original.
// A nil *colMap is the identity.
type colMap struct {
	lines map[int][]insertion // by line, in column order
}

type insertion struct {
	col int // 1-based column in the original line where the text was inserted
	n   int // length of the inserted text
}

// original returns the original column of column col (1-based) on line.
// A column inside inserted text maps to the insertion point.
func (m *colMap) original(line, col int) int {
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
