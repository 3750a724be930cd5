package cli

import (
	"fmt"
	"os"
	"sync"

	"github.com/devicejs/devicejs"
	"github.com/devicejs/devicejs/internal/childproc"
	"github.com/devicejs/devicejs/internal/isolation"
	"github.com/devicejs/devicejs/runtime"
)

// resultLine is the child side of RunIsolated: with the hidden `run --result-fd N` it writes
// internal/isolation's result line (the script error, how the run ended, its Stats) on
// descriptor N, once, from whichever end of the run comes first: the run's return, or an exit
// that bypasses it (a run stuck past its stop, the memory backstop). Without the flag it does
// nothing.
type resultLine struct {
	mu    sync.Mutex
	f     *os.File // nil without --result-fd, or once written
	stats func() devicejs.Stats
}

// openResultLine opens descriptor fd (0: no result line).
func openResultLine(fd int) (*resultLine, error) {
	if fd == 0 {
		return &resultLine{}, nil
	}
	f, err := childproc.OpenFD(fd, "result-line")
	if err != nil {
		return nil, usageError(fmt.Errorf("--%s: %w", isolation.ResultFDFlag, err))
	}
	return &resultLine{f: f}, nil
}

// setStats gives the line the run's counters.
func (l *resultLine) setStats(stats func() devicejs.Stats) {
	l.mu.Lock()
	l.stats = stats
	l.mu.Unlock()
}

// write writes the line of a run that ended as res, the process exiting with code, and closes
// the descriptor; later calls do nothing. An error that did not come from the script (Run
// refused the Config) is written as a KindLimit script error, as the CLI prints it.
func (l *resultLine) write(code ExitCode, res devicejs.Result, runErr error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return
	}
	se := res.ScriptError()
	if runErr != nil {
		se = &runtime.ScriptError{Kind: runtime.KindLimit, Message: runErr.Error()}
	}
	var stats devicejs.Stats
	if l.stats != nil {
		stats = l.stats()
	}
	_ = isolation.WriteReport(l.f, isolation.NewReport(code, res.Ending.String(), se, isolation.Stats(stats)))
	l.f.Close()
	l.f = nil
}

// close closes the descriptor if no line was written.
func (l *resultLine) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f != nil {
		l.f.Close()
		l.f = nil
	}
}
