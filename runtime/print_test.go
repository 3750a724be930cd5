package runtime_test

import (
	"context"
	"strings"
	"testing"

	"github.com/devicejs/devicejs/runtime"
)

// writeRecorder records every Write call separately.
type writeRecorder struct{ writes []string }

func (w *writeRecorder) Write(p []byte) (int, error) {
	w.writes = append(w.writes, string(p))
	return len(p), nil
}

func TestPrintWritesWholeLines(t *testing.T) {
	var w writeRecorder
	l := runtime.New(runtime.Options{Stdout: &w})
	src := `print('a', 'b'); print(new Array(100001).join('x')); print(); print('é', 1e21, -0)`
	if err := l.Run(context.Background(), "test.js", src); err != nil {
		t.Fatal(err)
	}
	want := []string{"a b\n", strings.Repeat("x", 100000) + "\n", "\n", "é 1e+21 0\n"}
	if len(w.writes) != len(want) {
		t.Fatalf("%d writes, want %d", len(w.writes), len(want))
	}
	for i := range want {
		if w.writes[i] != want[i] {
			t.Errorf("write %d = %.40q, want %.40q", i, w.writes[i], want[i])
		}
	}
}

// TestPrintLongLinesInPieces: a line over 1 MiB is written as its pieces (the arguments, the
// spaces, the newline), which together are the line; a line of exactly 1 MiB is one Write.
func TestPrintLongLinesInPieces(t *testing.T) {
	tt := []struct {
		name, src string
		want      []string
	}{
		{"two long arguments", `var s = 'x'.repeat(1 << 20); print(s, 'y' + s)`,
			[]string{strings.Repeat("x", 1<<20), " ", "y" + strings.Repeat("x", 1<<20), "\n"}},
		{"one long argument", `print('é'.repeat(1 << 20))`, []string{strings.Repeat("é", 1<<20), "\n"}},
		{"empty arguments around a long one", `print('', 'z'.repeat(1 << 21), '')`,
			[]string{" ", strings.Repeat("z", 1<<21), " ", "\n"}},
		{"exactly 1 MiB with the newline", `print('x'.repeat((1 << 20) - 1))`, []string{strings.Repeat("x", 1<<20-1) + "\n"}},
	}
	for _, tc := range tt {
		t.Run(tc.name, func(t *testing.T) {
			var w writeRecorder
			l := runtime.New(runtime.Options{Stdout: &w})
			if err := l.Run(context.Background(), "test.js", tc.src); err != nil {
				t.Fatal(err)
			}
			if len(w.writes) != len(tc.want) {
				t.Fatalf("%d writes, want %d", len(w.writes), len(tc.want))
			}
			for i := range tc.want {
				if w.writes[i] != tc.want[i] {
					t.Errorf("write %d = %.40q (%d bytes), want %.40q (%d bytes)", i, w.writes[i], len(w.writes[i]), tc.want[i], len(tc.want[i]))
				}
			}
		})
	}
}
