package devicejs

import (
	"errors"
	"fmt"
)

// ErrInvalidConfig is matched (errors.Is) by every error New, and so Run, returns for a Config
// it refuses; errors.As with a *ConfigError target names the field.
var ErrInvalidConfig = errors.New("devicejs: invalid Config")

// ConfigError is a Config that New refuses: Field is the name of the offending Config field
// ("Broker", "Dial", "Embedded", "TimeScale", "For", "MaxMemory", "MemoryGuards",
// "DeviceMemory", "Globals", "Link"; for a conflict of routes, the second route set) and
// Reason says what is wrong with it. Err is the underlying error, if any (e.g.
// runtime.CheckTimeScale's, *runtime.GlobalsError). errors.Is(err, ErrInvalidConfig) is true
// for every *ConfigError.
type ConfigError struct {
	Field  string
	Reason string
	Err    error
}

// Error implements error, e.g. "devicejs: Config.MaxMemory: must not be negative, got -5".
func (e *ConfigError) Error() string {
	return "devicejs: Config." + e.Field + ": " + e.Reason
}

// Unwrap returns ErrInvalidConfig and Err (when set), for errors.Is and errors.As.
func (e *ConfigError) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrInvalidConfig, e.Err}
	}
	return []error{ErrInvalidConfig}
}

// configErrorf builds a *ConfigError for field with a formatted reason.
func configErrorf(field string, err error, format string, args ...any) *ConfigError {
	return &ConfigError{Field: field, Reason: fmt.Sprintf(format, args...), Err: err}
}

// MaxBudget is the largest MaxMemory, MemoryGuards or DeviceMemory New accepts, in bytes: 256 TiB, the most
// heap a Go process can address on today's 64-bit platforms (48-bit addresses). A larger
// budget could never be reached; it is refused as a mistake (e.g. math.MaxInt64 for "none",
// which is 0).
const MaxBudget int64 = 1 << 48

// checkBudget validates a heap budget field: 0 (none) or 1 to MaxBudget bytes.
func checkBudget(field string, n int64) error {
	switch {
	case n < 0:
		return configErrorf(field, nil, "must not be negative (0 means none), got %d", n)
	case n > MaxBudget:
		return configErrorf(field, nil, "must be at most %d bytes (256 TiB; 0 means none), got %d", MaxBudget, n)
	}
	return nil
}

// Names of the host callbacks in HookError.Hook.
const (
	HookOnEvent  = "OnEvent"  // Config.OnEvent
	HookTrace    = "Trace"    // Config.Trace
	HookStdout   = "Stdout"   // Config.Stdout's Write
	HookLogger   = "Logger"   // the slog.Handler of Config.Logger
	HookClientID = "ClientID" // Config.ClientID
	HookDial     = "Dial"     // Config.Dial
	HookClock    = "Clock"    // Config.Clock's methods, and the stop functions AfterFunc returns
	HookDone     = "done"     // the done function given to Device.Start
)

// HookError is a panic in one of the host's callbacks (see the Hook constants), recovered.
// Every callback is recovered the same way, whatever goroutine it runs on: the callback is not
// called again for the rest of the run, the panic is logged (Config.Logger, error level) and
// the run ends with Ending ScriptFailed and a *runtime.ScriptError of Kind runtime.KindPanic
// whose Err is the *HookError (errors.As finds it). A panic in Device.Start's done, which runs
// after the run, is only logged.
type HookError struct {
	Hook  string // which callback: HookOnEvent, HookTrace, ...
	Value any    // the value it panicked with
	Stack string // the Go stack of the panicking goroutine
}

// Error implements error, e.g. "devicejs: Config.OnEvent panicked: boom".
func (e *HookError) Error() string {
	if e.Hook == HookDone {
		return fmt.Sprintf("devicejs: Device.Start's done panicked: %v", e.Value)
	}
	return fmt.Sprintf("devicejs: Config.%s panicked: %v", e.Hook, e.Value)
}

// Unwrap returns the panic value when it is an error, else nil.
func (e *HookError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}
