package sandbox

// prev records the kind of token just scanned: whether it ends an operand
// and whether a statement may start after it.
func (s *scanner) prev(ends, stmtStart bool) {
	s.ends, s.stmtStart = ends, stmtStart
	s.word, s.afterDot, s.arrow, s.paren = "", false, false, false
}

// wordToken scans a name or keyword.
func (s *scanner) wordToken() {
	if s.i == 0 && len(s.src) > 1 && s.src[0] == '#' && s.src[1] == '!' { // hashbang line
		for s.i < len(s.src) && s.src[s.i] != '\n' && s.src[s.i] != '\r' {
			s.i++
		}
		return
	}
	w := wordAt(s.src, s.i)
	s.i += len(w)
	if s.afterDot { // a property name
		s.prev(true, false)
		return
	}
	stmtStart, asyncStart, newline := s.stmtStart, s.asyncStart, s.newline
	prevWord := s.word
	switch w {
	case "typeof", "void", "delete", "new", "await", "yield", "in", "instanceof", "of",
		"return", "throw", "extends", "var", "let", "const", "break", "continue", "debugger":
		n := 1
		switch w {
		case "return", "throw", "extends", "var", "let", "const", "break", "continue", "debugger":
			n = 0
		}
		s.add(n)
		s.prev(false, false)
	case "if", "while", "for", "with", "else", "do", "switch", "catch":
		switch w {
		case "if", "while", "for", "with", "do": // else-if nests by its if
			s.nestStatement(1)
		}
		s.prev(false, w == "else" || w == "do")
	case "try", "finally", "static":
		s.prev(false, true)
		if w == "static" {
			s.ends = true // a name too
		}
	case "case", "default":
		if s.top().kind == frameBlock || s.top().kind == frameFuncDecl {
			s.caseColon++
		}
		s.prev(false, false)
	case "function":
		decl := stmtStart || prevWord == "async" && !newline && asyncStart
		s.fn = paramsExpr
		if decl {
			s.fn = paramsDecl
		}
		s.prev(false, false)
	case "class":
		s.top().class = paramsExpr
		if stmtStart {
			s.top().class = paramsDecl
		}
		s.prev(false, false)
	default: // a name, this, super, null, true, false, async, get, set
		s.asyncStart = stmtStart
		s.prev(true, false)
	}
	s.word = w
}

// punctuator scans an operator or bracket at s.i.
func (s *scanner) punctuator(c byte) {
	f := s.top()
	next := byte(0)
	if s.i+1 < len(s.src) {
		next = s.src[s.i+1]
	}
	switch c {
	case '(':
		nf := frame{kind: frameParen, params: s.fn}
		switch s.word {
		case "if", "while", "for", "with", "switch", "catch":
			nf.control = true
		}
		s.fn = 0
		if s.ends { // a call
			s.add(1)
		}
		s.i++
		s.push(nf)
		s.prev(false, false)
	case '[':
		if s.ends { // an index
			s.add(1)
		}
		s.i++
		s.push(frame{kind: frameBracket})
		s.prev(false, false)
	case '{':
		k := s.braceKind()
		s.i++
		s.push(frame{kind: k})
		s.prev(false, k != frameObject)
	case ')', ']':
		s.i++
		fr := s.pop()
		s.prev(!fr.control, fr.control)
		s.closed, s.paren = fr, c == ')'
	case '}':
		s.i++
		if f.kind == frameTemplate {
			s.pop()
			s.templateText()
			return
		}
		switch fr := s.pop(); fr.kind {
		case frameFuncExpr, frameObject:
			s.prev(true, false)
		case frameArrow:
			s.prev(false, false)
		default:
			s.prev(false, true)
			s.endStatement()
		}
	case ';':
		s.i++
		s.fn = 0
		if f.kind == frameParen {
			s.resetOps(false)
			s.prev(false, false)
			return
		}
		s.prev(false, true)
		s.endStatement()
	case ',':
		s.i++
		s.resetOps(false)
		s.prev(false, false)
	case '?':
		switch {
		case next == '.' && !(s.i+2 < len(s.src) && s.src[s.i+2] >= '0' && s.src[s.i+2] <= '9'):
			s.i += 2
			s.operator(1)
			s.afterDot = true
		case next == '?':
			s.i += 2
			if s.i < len(s.src) && s.src[s.i] == '=' {
				s.i++
			}
			s.operator(1)
		default:
			s.i++
			s.operator(1)
			f.ternary++
		}
	case ':':
		s.i++
		switch {
		case f.ternary > 0:
			f.ternary--
			s.operator(0)
		case s.caseColon > 0:
			s.caseColon--
			s.resetOps(true)
			s.prev(false, true)
		case f.kind == frameObject:
			s.operator(0) // a property's value
		case f.kind == frameParen || f.kind == frameBracket || f.kind == frameTemplate:
			s.operator(1) // not JavaScript: goja reports it, after as many errors as there are
		default: // a label: it nests the statement it labels
			s.nestStatement(labelWeight)
			s.prev(false, true)
		}
	case '.':
		if next == '.' && s.i+2 < len(s.src) && s.src[s.i+2] == '.' {
			s.i += 3
			s.operator(1)
			return
		}
		s.i++
		s.operator(1)
		s.afterDot = true
	case '/':
		if !s.ends {
			s.regexp()
			return
		}
		s.i += opLen(s.src, s.i)
		s.operator(1)
	case '+', '-':
		if next == c {
			s.i += 2
			if s.ends { // postfix
				s.add(1)
				s.prev(true, false)
				return
			}
			s.operator(1)
			return
		}
		s.i += opLen(s.src, s.i)
		s.operator(1)
	case '=':
		if next == '>' {
			s.i += 2
			s.operator(1)
			s.arrow = true
			return
		}
		s.i += opLen(s.src, s.i)
		s.operator(1)
	default:
		s.i += opLen(s.src, s.i)
		s.operator(1)
	}
}

// operators longer than one byte, longest first (maximal munch).
var longOps = []string{">>>=", "===", "!==", "**=", "<<=", ">>=", ">>>", "&&=", "||=",
	"==", "!=", "<=", ">=", "&&", "||", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "**", "<<", ">>"}

// opLen returns the length of the operator at i.
func opLen(src string, i int) int {
	for _, op := range longOps {
		if len(src)-i >= len(op) && src[i:i+len(op)] == op {
			return len(op)
		}
	}
	if src[i] >= 0x80 { // not ASCII: a character goja rejects; skip it whole
		n := 1
		for i+n < len(src) && src[i+n]&0xC0 == 0x80 {
			n++
		}
		return n
	}
	return 1
}

// braceKind classifies the "{" at s.i by the token before it.
func (s *scanner) braceKind() int {
	f := s.top()
	switch {
	case f.class != 0: // a class body
		k := frameFuncExpr
		if f.class == paramsDecl {
			k = frameFuncDecl
		}
		f.class = 0
		return k
	case s.arrow:
		return frameArrow
	case s.paren: // a function body, or the body of if/while/for/with/switch/catch or a method
		switch s.closed.params {
		case paramsExpr:
			return frameFuncExpr
		case paramsDecl:
			return frameFuncDecl
		}
		return frameBlock
	case s.stmtStart:
		return frameBlock
	}
	return frameObject
}
