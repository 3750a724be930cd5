package runtime

import "github.com/dop251/goja"

// jsPrint is print(...args): the JS String() of each argument, joined by one
// space, written as one line with a single Write to Options.Stdout. Write
// errors are ignored, as print has no way to report them. Loop only.
func (l *Loop) jsPrint(call goja.FunctionCall) goja.Value {
	b := l.printBuf[:0]
	for i, a := range call.Arguments {
		if i > 0 {
			b = append(b, ' ')
		}
		b = append(b, a.String()...)
	}
	b = append(b, '\n')
	_, _ = l.out.Write(b)
	if cap(b) <= 64<<10 {
		l.printBuf = b // reuse, unless one huge line would pin memory
	}
	return goja.Undefined()
}
