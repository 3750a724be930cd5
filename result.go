package devicejs

import (
	"errors"

	"github.com/devicejs/devicejs/runtime"
)

// Ending says how a run ended.
type Ending int

// The ways a run ends. Compare with these names (or String()); the numbers are not a stable
// encoding (NotStarted was added as the zero value).
const (
	// NotStarted: the run did not start. It is the zero Ending, so the empty Result that Run,
	// Device.Run and RunIsolated return with an error (an invalid Config, a second Run, a bad
	// IsolatedConfig) never reads as Finished.
	NotStarted Ending = iota
	// Finished: nothing was left that could fire (no timer, no open session, no pending event).
	Finished
	// ForElapsed: Config.For device time passed; the run was stopped cleanly.
	ForElapsed
	// Canceled: the context given to Run ended; Result.Err is its cause (context.Cause).
	Canceled
	// ScriptFailed: an uncaught exception, a syntax error, an internal error or a panic in a
	// host callback (HookError); Result.Err is a *runtime.ScriptError with the message,
	// file:line:column and the JS stack (Kind runtime.KindPanic and Err a *HookError for a
	// host callback).
	ScriptFailed
)

// String returns "not started", "finished", "for elapsed", "canceled" or "script failed".
func (e Ending) String() string {
	switch e {
	case NotStarted:
		return "not started"
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
	// Err is nil for NotStarted (the error is returned beside the Result), Finished and
	// ForElapsed, the context's cause for Canceled and a *runtime.ScriptError for ScriptFailed.
	// It holds no part of the script's VM: keeping a Result keeps a few hundred bytes.
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
