// Package check is the static checker behind `devicejs check`: a syntax check of a device script
// and warnings for what the device would refuse and that can be seen without running it (calls
// whose arguments are literals: invalid topics, out-of-range connect options, more subscribe
// topics than the device holds). The range checks are mqttcore's own validators, so the checker
// and the runtime agree.
package check

import (
	"errors"
	"fmt"
	"sort"

	"github.com/devicejs/devicejs/runtime/sandbox"
	"github.com/dop251/goja/ast"
	"github.com/dop251/goja/file"
	"github.com/dop251/goja/parser"
)

// Severity of a Diagnostic.
type Severity string

// The severities: an Error makes the script unrunnable (a syntax error); a Warning is a call the
// device would refuse at run time.
const (
	Error   Severity = "error"
	Warning Severity = "warning"
)

// Diagnostic is one finding, at a 1-based line and column of the script.
type Diagnostic struct {
	File     string
	Line     int
	Column   int
	Severity Severity
	Message  string
}

// String formats d as "file:line:col: severity: message".
func (d Diagnostic) String() string {
	return fmt.Sprintf("%s:%d:%d: %s: %s", d.File, d.Line, d.Column, d.Severity, d.Message)
}

// Script checks the script src named filename and returns its diagnostics in source order. A
// script with a syntax error has exactly one diagnostic, the parser's first error.
//
// Source too long or nested too deep for the runtime (sandbox.CheckSource) is an Error at the
// point where the bound was crossed, found before goja's parser sees it: the parser and the walk
// below would otherwise recurse once per level.
func Script(filename, src string) []Diagnostic {
	if err := sandbox.CheckSource(src); err != nil {
		var b *sandbox.SourceBoundError
		off := 0
		if errors.As(err, &b) {
			off = min(b.Offset, len(src))
		}
		line, col := lineCol(src, off)
		return []Diagnostic{{File: filename, Line: line, Column: col, Severity: Error, Message: "syntax error: " + err.Error()}}
	}
	prog, err := parser.ParseFile(nil, filename, src, 0)
	if err != nil {
		var list parser.ErrorList
		var one *parser.Error
		switch {
		case errors.As(err, &list):
		case errors.As(err, &one):
			list = parser.ErrorList{one}
		default:
			return []Diagnostic{{File: filename, Line: 1, Column: 1, Severity: Error, Message: err.Error()}}
		}
		if len(list) == 0 {
			return []Diagnostic{{File: filename, Line: 1, Column: 1, Severity: Error, Message: err.Error()}}
		}
		// Only the first error: the parser's later ones are mostly consequences of it.
		e := list[0]
		return []Diagnostic{{File: filename, Line: e.Position.Line, Column: e.Position.Column,
			Severity: Error, Message: "syntax error: " + e.Message}}
	}
	c := &checker{file: prog.File, name: filename, subs: map[string]file.Idx{}}
	walk(prog, c.visit)
	c.finish()
	sort.SliceStable(c.diags, func(i, j int) bool {
		a, b := c.diags[i], c.diags[j]
		return a.Line < b.Line || a.Line == b.Line && a.Column < b.Column
	})
	return c.diags
}

// HasErrors reports whether any diagnostic is an Error.
func HasErrors(ds []Diagnostic) bool {
	for _, d := range ds {
		if d.Severity == Error {
			return true
		}
	}
	return false
}

// checker collects the warnings of one program.
type checker struct {
	file  *file.File
	name  string
	diags []Diagnostic
	subs  map[string]file.Idx // distinct literal subscribe topics, at their first use
	order []string
}

func (c *checker) warn(at file.Idx, format string, args ...any) {
	p := c.file.Position(int(at) - c.file.Base())
	c.diags = append(c.diags, Diagnostic{File: c.name, Line: p.Line, Column: p.Column, Severity: Warning,
		Message: fmt.Sprintf(format, args...)})
}

// walk calls visit for every node of the tree under n (ast nodes only, each once), depth first
// in field order. It keeps its own stack: no tree depth can overflow the Go stack.
func walk(n ast.Node, visit func(ast.Node)) {
	seen := map[ast.Node]bool{}
	stack := []ast.Node{n}
	for len(stack) > 0 {
		node := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if node == nil || seen[node] {
			continue
		}
		seen[node] = true
		visit(node)
		kids := children(node)
		for i := len(kids) - 1; i >= 0; i-- {
			stack = append(stack, kids[i])
		}
	}
}

// lineCol returns the 1-based line and column (in bytes) of offset off in src.
func lineCol(src string, off int) (line, col int) {
	line, start := 1, 0
	for i := 0; i < off; i++ {
		if src[i] == '\n' {
			line, start = line+1, i+1
		}
	}
	return line, off - start + 1
}
