package sandbox

import "fmt"

// The kinds of scanner frames: one per open bracket, and the template
// substitution "${".
const (
	frameParen    = iota // ( … )
	frameBracket         // [ … ]
	frameBlock           // a block, switch body or method body: "}" ends a statement
	frameFuncDecl        // the body of a function or class declaration: "}" ends a statement
	frameFuncExpr        // the body of a function or class expression: "}" ends an operand
	frameArrow           // an arrow function's block body: "}" ends the arrow function
	frameObject          // an object literal or pattern: "}" ends an operand
	frameTemplate        // ${ … } in a template literal
)

// frame is one open bracket of the scanner.
type frame struct {
	kind int
	ops  int // operators and nesting statements since the last sequence end
	// stmt counts nesting statements (if, else, loops, with, labels) of
	// the current statement: an else-if chain nests however many ";" it has.
	stmt    int
	ternary int  // "?" of conditionals still waiting for their ":"
	control bool // the parenthesis of if, while, for, with, switch, catch
	params  int  // 0, or the parameter list of a function: paramsDecl or paramsExpr
	class   int  // a class header is open in this frame: paramsDecl or paramsExpr
}

const (
	paramsDecl = 1 + iota
	paramsExpr
)

// scanner is CheckSource's single pass over the source.
type scanner struct {
	src     string
	i       int
	stack   []frame // stack[0] is the whole source
	nest    int     // sum over the stack of ops+stmt
	bracket int     // open brackets

	// The previous token.
	ends       bool   // it ends an operand: a "/" next is a division
	word       string // its text if it is a word or keyword, else ""
	stmtStart  bool   // a statement may start after it
	afterDot   bool   // it is "." or "?.": a word next is a property name
	newline    bool   // a line terminator came after it
	caseColon  int    // case/default labels waiting for their ":"
	fn         int    // after "function" (or "class"): paramsDecl or paramsExpr, until the "(" (or "{")
	arrow      bool   // it is "=>"
	paren      bool   // it is ")"
	closed     frame  // the frame the previous ")" closed
	asyncStart bool   // a statement could start at the last name (for "async function")
	resetNext  bool   // the statement ended: the next token, unless else/catch/…, resets the frame
}

func (s *scanner) top() *frame { return &s.stack[len(s.stack)-1] }

// add counts n more levels in the innermost frame.
func (s *scanner) add(n int) { s.top().ops += n; s.nest += n }

// nestStatement counts n more levels of nesting statements in the
// innermost frame.
func (s *scanner) nestStatement(n int) { s.top().stmt += n; s.nest += n }

// resetOps ends a sequence element in the innermost frame; with stmt, the
// statement too.
func (s *scanner) resetOps(stmt bool) {
	f := s.top()
	s.nest -= f.ops
	f.ops, f.ternary = 0, 0
	if stmt {
		s.nest -= f.stmt
		f.stmt = 0
	}
}

func (s *scanner) push(f frame) {
	s.stack = append(s.stack, f)
	s.bracket++
}

func (s *scanner) pop() frame {
	if len(s.stack) == 1 {
		return frame{kind: frameParen} // an extra closer: goja reports it
	}
	f := *s.top()
	s.nest -= f.ops + f.stmt
	s.stack = s.stack[:len(s.stack)-1]
	s.bracket--
	return f
}

// run scans the whole source and fails as soon as the bracket nesting
// passes brackets or the nesting of operators and statements passes nest.
func (s *scanner) run(brackets, nest int) error {
	s.stack = append(s.stack[:0], frame{kind: frameBlock})
	s.stmtStart = true
	for {
		switch {
		case s.bracket > brackets:
			return &SourceBoundError{Offset: s.i, Message: fmt.Sprintf("brackets nested deeper than %d levels", brackets)}
		case s.nest > nest:
			return &SourceBoundError{Offset: s.i, Message: fmt.Sprintf("expressions or statements nested deeper than %d levels", nest)}
		}
		if !s.skipSpace() {
			return nil
		}
		s.token()
	}
}

// skipSpace skips blanks and comments and records line terminators; false
// at the end of the source.
func (s *scanner) skipSpace() bool {
	for s.i < len(s.src) {
		c := s.src[s.i]
		switch {
		case c == '\n' || c == '\r':
			s.newline = true
			s.i++
		case c == ' ' || c == '\t' || c == '\v' || c == '\f':
			s.i++
		case c == 0xE2 && s.i+2 < len(s.src) && s.src[s.i+1] == 0x80 && (s.src[s.i+2] == 0xA8 || s.src[s.i+2] == 0xA9):
			s.newline = true // U+2028, U+2029
			s.i += 3
		case c == 0xC2 && s.i+1 < len(s.src) && s.src[s.i+1] == 0xA0: // U+00A0
			s.i += 2
		case c == 0xEF && s.i+2 < len(s.src) && s.src[s.i+1] == 0xBB && s.src[s.i+2] == 0xBF: // U+FEFF
			s.i += 3
		case c == '/' && s.i+1 < len(s.src) && s.src[s.i+1] == '/':
			for s.i < len(s.src) && s.src[s.i] != '\n' && s.src[s.i] != '\r' {
				s.i++
			}
		case c == '/' && s.i+1 < len(s.src) && s.src[s.i+1] == '*':
			end := indexFrom(s.src, s.i+2, "*/")
			if end < 0 {
				end = len(s.src)
			}
			for j := s.i; j < end; j++ {
				if s.src[j] == '\n' || s.src[j] == '\r' {
					s.newline = true
					break
				}
			}
			s.i = min(end+2, len(s.src))
		default:
			return true
		}
	}
	return false
}

func indexFrom(s string, from int, sub string) int {
	for j := from; j+len(sub) <= len(s); j++ {
		if s[j:j+len(sub)] == sub {
			return j
		}
	}
	return -1
}

// token scans one token at s.i (not a blank or comment).
func (s *scanner) token() {
	c := s.src[s.i]
	// A newline after an operand ends the statement if the next token
	// cannot continue the expression (automatic semicolon insertion).
	if s.newline && s.ends && startsStatement(c, s.src, s.i) {
		s.endStatement()
	}
	if s.resetNext {
		s.resetNext = false
		s.resetOps(!s.continuesStatement(c))
	}
	switch {
	case isIdentStart(c):
		s.wordToken()
	case c >= '0' && c <= '9' || c == '.' && s.i+1 < len(s.src) && s.src[s.i+1] >= '0' && s.src[s.i+1] <= '9':
		s.number()
		s.operand()
	case c == '\'' || c == '"':
		s.quoted(c)
		s.operand()
	case c == '`':
		if s.ends { // a tagged template: a call
			s.add(1)
		}
		s.i++
		s.templateText()
	default:
		s.punctuator(c)
	}
	s.newline = false
}

// startsStatement reports whether the token at i cannot continue an
// expression that ended before a line terminator.
func startsStatement(c byte, src string, i int) bool {
	switch {
	case isIdentStart(c):
		w := wordAt(src, i)
		return w != "in" && w != "instanceof" && w != "of"
	case c >= '0' && c <= '9', c == '\'', c == '"', c == '{', c == '!', c == '~':
		return true
	case c == '+' || c == '-':
		return i+1 < len(src) && src[i+1] == c // ++ and -- after a newline are prefix
	}
	return false
}

// continuesStatement reports whether the token at s.i, after a statement
// end, continues the statement (else, catch, finally, a do-while's while).
func (s *scanner) continuesStatement(c byte) bool {
	if !isIdentStart(c) {
		return false
	}
	switch wordAt(s.src, s.i) {
	case "else", "catch", "finally", "while":
		return true
	}
	return false
}

// endStatement ends the statement in the innermost frame.
func (s *scanner) endStatement() {
	s.resetNext = true
	s.stmtStart = true
	s.ends = false
}

// operand records an operand token (a literal or closed expression).
func (s *scanner) operand() { s.prev(true, false) }

// operator records an operator token; n levels are counted.
func (s *scanner) operator(n int) {
	s.add(n)
	s.prev(false, false)
}

func isIdentStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == '$' || c == '\\' || c == '#' || c >= 0x80
}

func isIdentPart(c byte) bool { return isIdentStart(c) || c >= '0' && c <= '9' }

// wordAt returns the word starting at i (escapes included, loosely).
func wordAt(src string, i int) string {
	j := i
	for j < len(src) && isIdentPart(src[j]) {
		if src[j] == '\\' && j+1 < len(src) && src[j+1] == 'u' {
			j += 2
			if j < len(src) && src[j] == '{' {
				for j < len(src) && src[j] != '}' {
					j++
				}
			}
			continue
		}
		if src[j] >= 0x80 && isLineSeparator(src, j) {
			break
		}
		j++
	}
	if j == i {
		j++ // a lone "\" or "#": one byte
	}
	return src[i:j]
}

func isLineSeparator(src string, j int) bool {
	return j+2 < len(src) && src[j] == 0xE2 && src[j+1] == 0x80 && (src[j+2] == 0xA8 || src[j+2] == 0xA9)
}

// number skips a numeric literal.
func (s *scanner) number() {
	j := s.i
	hex := j+1 < len(s.src) && s.src[j] == '0' && (s.src[j+1]|0x20 == 'x')
	dot := false
	for j < len(s.src) {
		c := s.src[j]
		switch {
		case c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_':
			j++
			if !hex && (c == 'e' || c == 'E') && j < len(s.src) && (s.src[j] == '+' || s.src[j] == '-') {
				j++
			}
		case c == '.' && !dot && !hex:
			dot = true
			j++
		default:
			s.i = j
			return
		}
	}
	s.i = j
}

// quoted skips a string literal; an unterminated one ends at the line end
// (goja reports it).
func (s *scanner) quoted(q byte) {
	j := s.i + 1
	for j < len(s.src) {
		switch s.src[j] {
		case q:
			s.i = j + 1
			return
		case '\\':
			j += 2
			if j-1 < len(s.src) && s.src[j-1] == '\r' && j < len(s.src) && s.src[j] == '\n' {
				j++
			}
		case '\n', '\r':
			s.i = j
			return
		default:
			j++
		}
	}
	s.i = len(s.src)
}

// templateText skips template text after "`" or the "}" of a
// substitution, up to the closing "`" (an operand) or a "${" (a new frame).
func (s *scanner) templateText() {
	j := s.i
	for j < len(s.src) {
		switch s.src[j] {
		case '`':
			s.i = j + 1
			s.operand()
			return
		case '\\':
			j += 2
		case '$':
			if j+1 < len(s.src) && s.src[j+1] == '{' {
				s.i = j + 2
				s.push(frame{kind: frameTemplate})
				s.prev(false, false)
				return
			}
			j++
		default:
			j++
		}
	}
	s.i = len(s.src)
	s.operand()
}

// regexp skips a regular expression literal (at its "/"); it ends at a line
// end if unterminated (goja reports it).
func (s *scanner) regexp() {
	j, class := s.i+1, false
	for j < len(s.src) {
		switch c := s.src[j]; {
		case c == '\\':
			j += 2
			continue
		case c == '\n' || c == '\r' || isLineSeparator(s.src, j):
			s.i = j
			s.operand()
			return
		case c == '[':
			class = true
		case c == ']':
			class = false
		case c == '/' && !class:
			j++
			for j < len(s.src) && isIdentPart(s.src[j]) && !isLineSeparator(s.src, j) {
				j++
			}
			s.i = j
			s.operand()
			return
		}
		j++
	}
	s.i = len(s.src)
	s.operand()
}
