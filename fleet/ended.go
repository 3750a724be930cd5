package fleet

import (
	"errors"
	"fmt"
	"slices"

	"github.com/devicejs/devicejs"
	"github.com/devicejs/devicejs/runtime"
)

// The reasons an instance is listed in Summary.Ended. Finished and --for elapsed instances are
// not listed.
const (
	ReasonMemory      = "memory budget" // its process outgrew --max-memory (see docs/fleet.md)
	ReasonScriptError = "script error"  // an uncaught exception, a syntax error
	ReasonWorkerCrash = "worker crash"  // its worker process died without a summary
	ReasonTimeout     = "timeout"       // --timeout elapsed
	ReasonInterrupted = "interrupted"   // SIGINT
	ReasonTerminated  = "terminated"    // SIGTERM
	ReasonCanceled    = "canceled"      // the fleet's context ended for another reason
	ReasonNotStarted  = "not started"   // the fleet was stopped before the instance started
)

// ErrMemoryBudget is the cause with which a fleet whose process heap outgrew Config.MaxMemory
// ends its instances. It wraps runtime.ErrMemoryBudget, the one memory budget error of
// devicejs: errors.Is matches either.
var ErrMemoryBudget = fmt.Errorf("fleet: %w", runtime.ErrMemoryBudget)

// Ended is an instance that did not finish on its own or by --for: why and when it ended.
type Ended struct {
	Index    int    `json:"index"`
	ClientID string `json:"client_id"` // "" when it never called mqtt.connect (or is unknown)
	Reason   string `json:"reason"`    // one of the Reason constants
	Detail   string `json:"detail"`    // the error message, or ""
}

// maxEndedText bounds the Ended lines of Summary.WriteText; the JSON lists all of them.
const maxEndedText = 20

// reasonOf classifies how an instance ended: "" for finished and --for elapsed. cause maps a
// context cause to a reason (Config.EndReason); nil gives ReasonCanceled.
func reasonOf(res devicejs.Result, cause func(error) string) (reason, detail string) {
	switch res.Ending {
	case devicejs.Finished, devicejs.ForElapsed:
		return "", ""
	case devicejs.ScriptFailed:
		if errors.Is(res.Err, runtime.ErrMemoryBudget) {
			return ReasonMemory, errString(res.Err)
		}
		return ReasonScriptError, errString(res.Err)
	}
	if errors.Is(res.Err, ErrMemoryBudget) {
		return ReasonMemory, errString(res.Err)
	}
	if cause != nil && res.Err != nil {
		if r := cause(res.Err); r != "" {
			return r, errString(res.Err)
		}
	}
	return ReasonCanceled, errString(res.Err)
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// sortEnded orders ended instances by index.
func sortEnded(e []Ended) {
	slices.SortStableFunc(e, func(a, b Ended) int { return a.Index - b.Index })
}

// writeEndedText writes the Ended lines of the text summary.
func writeEndedText(b interface{ WriteString(string) (int, error) }, ended []Ended) {
	if len(ended) == 0 {
		return
	}
	byReason := map[string]int{}
	for _, e := range ended {
		byReason[e.Reason]++
	}
	reasons := make([]string, 0, len(byReason))
	for r := range byReason {
		reasons = append(reasons, r)
	}
	slices.Sort(reasons)
	b.WriteString(fmt.Sprintf("  ended:      %d", len(ended)))
	for _, r := range reasons {
		b.WriteString(fmt.Sprintf(" %s=%d", r, byReason[r]))
	}
	b.WriteString("\n")
	for k, e := range ended {
		if k == maxEndedText {
			b.WriteString(fmt.Sprintf("    ... and %d more (see --summary-json)\n", len(ended)-k))
			break
		}
		id := e.ClientID
		if id == "" {
			id = "-"
		}
		b.WriteString(fmt.Sprintf("    [%d] %s: %s\n", e.Index, id, e.Reason))
	}
}
