package devicejs

import (
	"errors"

	"github.com/devicejs/devicejs/runtime"
)

// Ending says how a run ended.
type Ending int

// The ways a run ends.
const (
	// Finished: nothing was left that could fire (no timer, no open session, no pending event).
	Finished Ending = iota
	// ForElapsed: Config.For device time passed; the run was stopped cleanly.
	ForElapsed
	// Canceled: the context given to Run ended; Result.Err is its cause (context.Cause).
	Canceled
	// ScriptFailed: an uncaught exception, a syntax error or an internal error; Result.Err is a
	// *runtime.ScriptError with the message, file:line:column and the JS stack.
	ScriptFailed
)

// String returns "finished", "for elapsed", "canceled" or "script failed".
func (e Ending) String() string {
	switch e {
	case Finished:
		return "finished"
	case ForElapsed:
		return "for elapsed"
	case Canceled:
		return "canceled"
	case ScriptFailed:
		return "script failed"
	}
	return "unknown"
}

// Result is how a run ended and what it did.
type Result struct {
	Ending Ending
	// Err is nil for Finished and ForElapsed, the context's cause for Canceled and a
	// *runtime.ScriptError for ScriptFailed.
	Err error
	// Stats are the run's final counters.
	Stats Stats
}

// ScriptError returns the script's error for ScriptFailed, else nil.
func (r Result) ScriptError() *runtime.ScriptError {
	var se *runtime.ScriptError
	if errors.As(r.Err, &se) {
		return se
	}
	return nil
}
