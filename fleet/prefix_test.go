package fleet

import (
	"strings"
	"testing"
)

func TestPrefixWriter(t *testing.T) {
	var b strings.Builder
	out := &lockedWriter{w: &b}
	p := newPrefixWriter(out, 17)
	for _, s := range []string{"CONNECTED\n", "par", "tial\nnext\nlast", ""} {
		if n, err := p.Write([]byte(s)); n != len(s) || err != nil {
			t.Fatalf("Write(%q) = %d, %v", s, n, err)
		}
	}
	p.Flush()
	p.Flush()
	if got, want := b.String(), "[17] CONNECTED\n[17] partial\n[17] next\n[17] last\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
