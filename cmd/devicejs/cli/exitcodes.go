package cli

import "errors"

// ExitCode is the process exit status of devicejs. The values are a public contract: scripts and
// CI jobs depend on them.
type ExitCode int

// The exit codes of devicejs.
const (
	// ExitOK: the script finished (nothing left that could fire) or --for elapsed.
	ExitOK ExitCode = 0
	// ExitScriptError: an uncaught exception, a syntax error or an internal error in the script's run.
	ExitScriptError ExitCode = 1
	// ExitUsage: a bad flag, a missing or unreadable file, an unknown command.
	ExitUsage ExitCode = 2
	// ExitTimeout: --timeout (wall time) elapsed before the script finished.
	ExitTimeout ExitCode = 3
	// ExitThreshold: `devicejs fleet` (or `fleet merge`) ran, but a --threshold was crossed
	// (and nothing else failed: the codes above take precedence).
	ExitThreshold ExitCode = 4
	// ExitInterrupted: stopped by SIGINT (Ctrl-C).
	ExitInterrupted ExitCode = 130
	// ExitTerminated: stopped by SIGTERM.
	ExitTerminated ExitCode = 143
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
