package cli

import (
	"errors"

	"github.com/devicejs/devicejs/internal/exitcode"
)

// ExitCode is the process exit status of devicejs. The values are a public contract: scripts and
// CI jobs depend on them. The table is internal/exitcode's (written once, shared with the code
// that starts devicejs as a child: RunIsolated, the --workers supervisor).
type ExitCode = exitcode.Code

// The exit codes of devicejs.
const (
	// ExitOK: the script finished (nothing left that could fire) or --for elapsed.
	ExitOK = exitcode.OK
	// ExitScriptError: an uncaught exception, a syntax error or an internal error in the script's run.
	ExitScriptError = exitcode.ScriptError
	// ExitUsage: a bad flag, a missing or unreadable file, an unknown command.
	ExitUsage = exitcode.Usage
	// ExitTimeout: --timeout (wall time) elapsed before the script finished.
	ExitTimeout = exitcode.Timeout
	// ExitThreshold: `devicejs fleet` (or `fleet merge`) ran, but a --threshold was crossed
	// (and nothing else failed: the codes above take precedence).
	ExitThreshold = exitcode.Threshold
	// ExitInterrupted: stopped by SIGINT (Ctrl-C).
	ExitInterrupted = exitcode.Interrupted
	// ExitTerminated: stopped by SIGTERM.
	ExitTerminated = exitcode.Terminated
)

// exitError carries an exit code through cobra's error return.
type exitError struct {
	code ExitCode
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// withExitCode wraps err so that Main exits with code.
func withExitCode(code ExitCode, err error) error {
	if err == nil {
		return nil
	}
	return &exitError{code: code, err: err}
}

// usageErrorf is a usage error (exit 2) whose message is printed with the usage hint.
func usageError(err error) error { return withExitCode(ExitUsage, err) }

// exitCodeOf maps an error returned by a command to the process exit code. An error without an
// attached code comes from cobra itself (unknown flag or command, wrong argument count): usage.
func exitCodeOf(err error) ExitCode {
	if err == nil {
		return ExitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return ExitUsage
}
