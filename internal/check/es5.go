package check

import (
	"github.com/dop251/goja/ast"
	"github.com/dop251/goja/token"
)

// es2015 names the syntax of n that is newer than ES5, or "" when n is ES5. goja accepts
// ES2015+ syntax, but the device runs ES5: a script using it would not run there.
func es2015(n ast.Node) string {
	switch n := n.(type) {
	case *ast.LexicalDeclaration:
		if n.Token == token.CONST {
			return "const"
		}
		return "let"
	case *ast.ArrowFunctionLiteral:
		return "an arrow function"
	case *ast.ClassLiteral:
		return "a class"
	case *ast.TemplateLiteral:
		return "a template literal"
	case *ast.ForOfStatement:
		return "for...of"
	case *ast.SpreadElement:
		return "spread (...)"
	case *ast.ObjectPattern, *ast.ArrayPattern:
		return "destructuring"
	case *ast.FunctionLiteral:
		switch {
		case n.Async:
			return "an async function"
		case n.Generator:
			return "a generator function"
		}
	case *ast.OptionalChain:
		return "optional chaining (?.)"
	}
	return ""
}

// checkES5 warns about syntax newer than ES5.
func (c *checker) checkES5(n ast.Node) {
	if what := es2015(n); what != "" {
		c.warn(n.Idx0(), "%s is not ES5: the device's JavaScript engine is ES5 and would refuse the script", what)
	}
}
