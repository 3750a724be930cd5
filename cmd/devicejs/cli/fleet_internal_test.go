package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// lockedBuffer is a strings.Builder safe for the progress goroutine and the summary.
type lockedBuffer struct {
	ch chan struct{}
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.ch <- struct{}{}
	defer func() { <-l.ch }()
	return l.b.Write(p)
}

// TestFleetProgressLine forces the progress line (stderr is not a terminal in tests) and checks
// that it is drawn and then cleared before the summary.
func TestFleetProgressLine(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "d.js")
	src := `var c = mqtt.connect('mqtt://broker:1883');
c.on('connect', function() { setTimeout(function() { c.end(); }, 1500); });`
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	errOut := &lockedBuffer{ch: make(chan struct{}, 1)}
	on := true
	opts := &FleetOptions{RunOptions: RunOptions{IO: &IOStreams{Out: &lockedBuffer{ch: make(chan struct{}, 1)}, ErrOut: errOut},
		ScriptPath: p, TimeScale: 1, Broker: "embedded"}, N: 3, Progress: &on}
	if err := fleetRun(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	got := errOut.b.String()
	if !strings.Contains(got, "\r\033[Kstarted 3/3  connected 3") || !strings.Contains(got, "\r\033[Kfleet: 3 of 3") {
		t.Errorf("stderr %q", got)
	}
	if isTerminal(errOut) {
		t.Error("a buffer is a terminal")
	}
}

func TestWarnFDs(t *testing.T) {
	t.Parallel()
	tt := []struct {
		n     int
		limit uint64
		warn  bool
	}{{10, 0, false}, {10_000, 20_000, false}, {19_936, 20_000, false}, {19_937, 20_000, true}, {30_000, 20_000, true}}
	for _, tc := range tt {
		var b strings.Builder
		warnFDs(&IOStreams{ErrOut: &b}, tc.n, tc.limit)
		if got := strings.Contains(b.String(), "warning"); got != tc.warn {
			t.Errorf("n=%d limit=%d: %q", tc.n, tc.limit, b.String())
		}
	}
}
