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
