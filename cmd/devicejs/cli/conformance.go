package cli

import (
	"errors"
	"fmt"
	"net"
	"os"

	"github.com/spf13/cobra"

	"github.com/devicejs/devicejs"
	"github.com/devicejs/devicejs/internal/conformance"
)

// ConformanceOptions are the inputs of `devicejs conformance`.
type ConformanceOptions struct {
	IO        *IOStreams
	Broker    string // "embedded" or HOST:PORT
	TLSBroker string // HOST:PORT of the user's TLS listener
	SSLCAFile string
	SSLCert   string
	SSLKey    string
	Parallel  int
}

// NewCmdConformance builds `devicejs conformance`. runF replaces the run in tests of flag parsing.
func NewCmdConformance(ios *IOStreams, runF func(*ConformanceOptions) error) *cobra.Command {
	opts := &ConformanceOptions{IO: ios}
	cmd := &cobra.Command{
		Use:   "conformance [flags]",
		Short: "Run the six documented samples' scenarios against a broker",
		Long: `Run the device vendor's six documented samples, verbatim, in the scenarios a device
meets (broker up, broker down, broker killed and restarted, wrong password, wrong CA), the same
scenarios and expectations as devicejs's own test suite (the testdata/conformance/*.test.js
files, carried in the binary and run by the same engine as devicejs test), and print a
pass/fail table.

With --broker embedded (the default) every scenario runs against its own in-process broker
that devicejs starts, stops and restarts itself, on device time. With --broker HOST:PORT the
samples run against your broker, so you can check that it, your credentials and your
certificates work the way the device expects: scenarios that need control of the broker
(down, restart, wrong password) are skipped, and TLS samples run only with --tls-broker.

Exit codes: 0 every scenario that ran passed, 1 a scenario failed, 2 usage error.`,
		Example: `  $ devicejs conformance
  $ devicejs conformance --broker 127.0.0.1:1883 --tls-broker 127.0.0.1:8883 --ssl-ca ca.pem`,
		Args: cobra.NoArgs,
		RunE: func(_ *cobra.Command, _ []string) error {
			if opts.Parallel < 1 {
				return usageError(fmt.Errorf("--parallel must be at least 1, got %d", opts.Parallel))
			}
			if runF != nil {
				return runF(opts)
			}
			return conformanceRun(opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Broker, "broker", "embedded", `"embedded" (brokers devicejs controls) or your broker's plain MQTT HOST:PORT`)
	f.StringVar(&opts.TLSBroker, "tls-broker", "", "your broker's MQTT-over-TLS HOST:PORT, for the TLS samples")
	f.StringVar(&opts.SSLCAFile, "ssl-ca", "", "PEM file of the CA that signed your broker's certificate")
	f.StringVar(&opts.SSLCert, "ssl-cert", "", "PEM client certificate for your broker (sample 3)")
	f.StringVar(&opts.SSLKey, "ssl-key", "", "PEM client key for your broker (sample 3)")
	f.IntVar(&opts.Parallel, "parallel", 4, "scenarios run at once on embedded brokers (on your broker they share topics and run one at a time)")
	return cmd
}

func conformanceRun(opts *ConformanceOptions) error {
	plan := conformance.Plan{FS: devicejs.ConformanceFiles, Parallel: opts.Parallel, Broker: "embedded"}
	if opts.Broker == "embedded" {
		if opts.TLSBroker != "" || opts.SSLCAFile != "" || opts.SSLCert != "" || opts.SSLKey != "" {
			return usageError(errors.New("--tls-broker and --ssl-* apply to your own broker, not --broker embedded"))
		}
	} else {
		for _, a := range []struct{ flag, addr string }{{"--broker", opts.Broker}, {"--tls-broker", opts.TLSBroker}} {
			if a.addr == "" && a.flag == "--tls-broker" {
				continue
			}
			if _, _, err := net.SplitHostPort(a.addr); err != nil {
				return usageError(fmt.Errorf("%s: want HOST:PORT, got %q", a.flag, a.addr))
			}
		}
		pem := map[string]string{}
		for _, f := range []struct{ flag, path string }{{"--ssl-ca", opts.SSLCAFile}, {"--ssl-cert", opts.SSLCert}, {"--ssl-key", opts.SSLKey}} {
			if f.path == "" {
				continue
			}
			b, err := os.ReadFile(f.path)
			if err != nil {
				return usageError(fmt.Errorf("%s: %w", f.flag, err))
			}
			pem[f.flag] = string(b)
		}
		plan.Broker, plan.TLSBroker = opts.Broker, opts.TLSBroker
		plan.TLS = devicejs.TLS{CA: pem["--ssl-ca"], Cert: pem["--ssl-cert"], Key: pem["--ssl-key"]}
	}
	rows, err := plan.Run()
	if err != nil {
		return withExitCode(ExitScriptError, err)
	}
	fmt.Fprint(opts.IO.Out, conformance.Table(rows))
	for _, r := range rows {
		if r.Failed {
			return withExitCode(ExitScriptError, errors.New(""))
		}
	}
	return nil
}
