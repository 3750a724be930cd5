package sandbox

import (
	"reflect"

	"github.com/dop251/goja/ast"
)

// restoreSources makes Function.prototype.toString (and class toString)
// show the original text: it replaces the Source of every function and class
// of prg, parsed from the instrumented isrc, with the same span of src. A
// span that cannot be located exactly keeps the instrumented text.
func restoreSources(prg *ast.Program, isrc, src string, edits []edit) {
	fix := func(source *string, end int) {
		start := end - len(*source)
		if *source == "" || start < 0 || end > len(isrc) || isrc[start:end] != *source {
			return
		}
		if o0, o1 := originalOffset(start, edits), originalOffset(end, edits); o0 <= o1 && o1 <= len(src) {
			*source = src[o0:o1]
		}
	}
	walk(reflect.ValueOf(prg), make(map[nodeKey]bool), nil, func(n ast.Node) {
		switch n := n.(type) {
		case *ast.FunctionLiteral:
			fix(&n.Source, offset(n.Body.Idx1()))
		case *ast.ArrowFunctionLiteral:
			fix(&n.Source, offset(n.Body.Idx1()))
		case *ast.ClassLiteral:
			fix(&n.Source, offset(n.RightBrace)+1)
		case *ast.ClassStaticBlock:
			fix(&n.Source, offset(n.Block.Idx1()))
		}
	})
}

// originalOffset maps an offset of the instrumented source that is not
// inside inserted text back to the original source.
func originalOffset(gen int, edits []edit) int {
	shift := 0
	for _, e := range edits {
		if e.off+shift+len(e.text) > gen {
			break
		}
		shift += len(e.text)
	}
	return gen - shift
}
