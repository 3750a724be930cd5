package sandbox

import (
	"fmt"
)

const (
	// MaxSourceBytes bounds the size of source text given to goja's parser:
	// the script, eval'd source and the text a Function constructor builds.
	// Longer source is a SyntaxError (docs/runtime.md, "Limits").
	MaxSourceBytes = 16 << 20
	// MaxSourceNesting bounds the nesting of operators, member accesses,
	// calls and statements in source text, on top of the bracket bound
	// MaxSourceDepth (see CheckSource). goja's parser and compiler spend
	// quadratic time on some such chains (x=>x=>…, a+a+…: about 0.3 s at
	// 2000 levels on the CI machine) and recurse once per level.
	MaxSourceNesting = 1000
	// labelWeight is how many levels a label counts: goja's parser takes
	// cubic time over nested labels (2000 labels: 3.5 s).
	labelWeight = 10
)

// SourceBoundError is the reason CheckSource refuses source: too long, or
// nested deeper than MaxSourceDepth or MaxSourceNesting.
type SourceBoundError struct {
	Offset  int    // byte offset where the bound was crossed
	Message string // e.g. "brackets nested deeper than 10000 levels"
}

// Error returns the message, e.g. "expressions or statements nested deeper than 1000 levels".
func (e *SourceBoundError) Error() string { return e.Message }

// CheckSource reports whether goja may parse and compile src without
// recursing too deep on the Go stack or spending quadratic time: src must be
// at most MaxSourceBytes long, nest brackets at most MaxSourceDepth levels
// and operators and statements at most MaxSourceNesting levels.
//
// goja's parser and compiler recurse once per level of the syntax tree, and
// some shapes compile in quadratic time, so a chain of a million operators
// (a+a+…, !!!…, a=a=…, a?a?…, x=>x=>…, typeof typeof …, if(a)if(a)…, a.b.b…,
// f()()…) overflows the Go stack, which kills the process. CheckSource
// measures, without recursion and in one pass, bounds of that depth: the
// nesting of brackets, and the sum over the open brackets of the operators,
// member accesses, calls and nesting statements (if, loops, with, labels)
// since the last point where a sequence element or statement ends (",",
// ";", a statement end by a newline or a block's "}"). That counts a
// left-deep chain such as a+a+a as deep as it is in the tree, and
// overestimates flat expressions, which are short in practice: over 5392
// JavaScript files found on the CI machine (minified ones included) the
// largest count was under 200. Strings, comments,
// template text and regular expression literals are skipped by the same
// rules goja's scanner follows (the regular expression / division choice by
// the preceding token, with "}" and ")" classified by what they close).
func CheckSource(src string) error {
	if len(src) > MaxSourceBytes {
		return &SourceBoundError{Offset: MaxSourceBytes,
			Message: fmt.Sprintf("source longer than %d bytes", MaxSourceBytes)}
	}
	s := scanner{src: src}
	if err := s.run(MaxSourceDepth, MaxSourceNesting); err != nil {
		return err
	}
	if d := sourceDepth(src); d > MaxSourceDepth { // brackets in strings and comments too: a bound no scan can get wrong
		return &SourceBoundError{Message: fmt.Sprintf("brackets nested deeper than %d levels", MaxSourceDepth)}
	}
	return nil
}
