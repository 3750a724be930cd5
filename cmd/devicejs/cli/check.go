package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/devicejs/devicejs/internal/check"
	"github.com/devicejs/devicejs/internal/srcfile"
)

// CheckOptions are the inputs of `devicejs check`.
type CheckOptions struct {
	IO          *IOStreams
	ScriptPaths []string
	Strict      bool // warnings fail the check too
}

// NewCmdCheck builds `devicejs check`. runF replaces the check in tests of flag parsing.
func NewCmdCheck(ios *IOStreams, runF func(*CheckOptions) error) *cobra.Command {
	opts := &CheckOptions{IO: ios}
	cmd := &cobra.Command{
		Use:   "check [flags] <script.js>...",
		Short: "Check device scripts without running them",
		Long: `Check device scripts without running them: a syntax check, then warnings for what
the device would refuse and that can be seen in the source: syntax newer than ES5 (let, const,
arrow functions, classes, template literals, ...), and calls whose arguments are literals: an
invalid broker URL or connect option out of the spec's range, an invalid publish or subscribe
topic, a qos other than 0, 1 or 2, more than 5 distinct subscribe topics, an unknown
mqtt.set() name or client event.

Each finding is printed as file:line:col: error|warning: message.

Exit codes: 0 no errors (warnings are printed but allowed, unless --strict),
1 a syntax error (or a warning with --strict), 2 usage error or unreadable file.`,
		Example: `  $ devicejs check device.js
  $ devicejs check --strict testdata/samples/*.js`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageError(errors.New("check takes at least one script file"))
			}
			return nil
		},
		RunE: func(_ *cobra.Command, args []string) error {
			opts.ScriptPaths = args
			if runF != nil {
				return runF(opts)
			}
			return checkRun(opts)
		},
	}
	cmd.Flags().BoolVar(&opts.Strict, "strict", false, "fail (exit 1) on warnings too")
	return cmd
}

// checkRun checks every script and maps the findings to an exit code.
func checkRun(opts *CheckOptions) error {
	failed := false
	for _, p := range opts.ScriptPaths {
		src, err := srcfile.Read(p)
		if err != nil {
			return usageError(fmt.Errorf("cannot read script: %w", err))
		}
		ds := check.Script(p, string(src))
		for _, d := range ds {
			fmt.Fprintln(opts.IO.ErrOut, d.String())
		}
		if check.HasErrors(ds) || (opts.Strict && len(ds) > 0) {
			failed = true
		}
	}
	if failed {
		return withExitCode(ExitScriptError, errors.New(""))
	}
	return nil
}
