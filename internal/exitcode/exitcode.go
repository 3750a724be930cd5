// Package exitcode is the exit-status table of the devicejs binary, written once: the CLI
// exits with these codes (cmd/devicejs/cli names them ExitOK, ExitScriptError, ...), and the
// code that starts devicejs as a child process reads them back (internal/isolation for
// RunIsolated, the `devicejs fleet --workers` supervisor). The values are a public contract:
// scripts and CI jobs depend on them; never change one.
package exitcode

// Code is a process exit status of devicejs.
type Code int

// The exit codes of devicejs.
const (
	// OK: the script finished (nothing left that could fire) or --for elapsed.
	OK Code = 0
	// ScriptError: an uncaught exception, a syntax error or an internal error in the script's run.
	ScriptError Code = 1
	// Usage: a bad flag, a missing or unreadable file, an unknown command.
	Usage Code = 2
	// Timeout: --timeout (wall time) elapsed before the script finished.
	Timeout Code = 3
	// Threshold: `devicejs fleet` (or `fleet merge`) ran, but a --threshold was crossed (and
	// nothing else failed: the codes above take precedence).
	Threshold Code = 4
	// Interrupted: stopped by SIGINT (Ctrl-C).
	Interrupted Code = 130
	// Terminated: stopped by SIGTERM.
	Terminated Code = 143
)
