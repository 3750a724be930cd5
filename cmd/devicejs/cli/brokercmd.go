package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/devicejs/devicejs/broker"
)

// BrokerOptions are the inputs of `devicejs broker`.
type BrokerOptions struct {
	IO                *IOStreams
	Listen            string
	TLSListen         string
	TLSCert, TLSKey   string
	TLSCA             string
	RequireClientCert bool
	UsersFile         string
}

// NewCmdBroker builds `devicejs broker`. runF replaces the run in tests of flag parsing.
func NewCmdBroker(ios *IOStreams, runF func(*BrokerOptions) error) *cobra.Command {
	opts := &BrokerOptions{IO: ios}
	cmd := &cobra.Command{
		Use:   "broker [flags]",
		Short: "Serve the embedded MQTT broker",
		Long: `Serve the embedded MQTT broker (the one behind "run --broker embedded") until
Ctrl-C, so a device, mosquitto_sub or a devicejs script can be pointed at it.

TLS needs --tls-cert and --tls-key (PEM files); --tls-ca with --require-client-cert
makes the broker demand client certificates signed by that CA. --users names a file
of "user:password" lines; without it anyone may connect.`,
		Example: `  $ devicejs broker --listen 127.0.0.1:1883
  $ devicejs broker --tls-listen 127.0.0.1:8883 --tls-cert server.pem --tls-key server.key \
      --tls-ca ca.pem --require-client-cert --users users.txt`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.TLSListen != "" && (opts.TLSCert == "" || opts.TLSKey == "") {
				return usageError(errors.New("--tls-listen needs --tls-cert and --tls-key"))
			}
			if opts.RequireClientCert && opts.TLSCA == "" {
				return usageError(errors.New("--require-client-cert needs --tls-ca"))
			}
			if runF != nil {
				return runF(opts)
			}
			return brokerRun(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Listen, "listen", "127.0.0.1:1883", `plain MQTT listen address ("" for none)`)
	f.StringVar(&opts.TLSListen, "tls-listen", "", "MQTT over TLS listen address")
	f.StringVar(&opts.TLSCert, "tls-cert", "", "server certificate PEM file")
	f.StringVar(&opts.TLSKey, "tls-key", "", "server private key PEM file")
	f.StringVar(&opts.TLSCA, "tls-ca", "", "CA PEM file that client certificates must chain to")
	f.BoolVar(&opts.RequireClientCert, "require-client-cert", false, "refuse TLS clients without a valid certificate")
	f.StringVar(&opts.UsersFile, "users", "", `file of "user:password" lines (default: allow anonymous)`)
	return cmd
}

// brokerRun serves until SIGINT or SIGTERM.
func brokerRun(ctx context.Context, opts *BrokerOptions) error {
	cfg := broker.Config{TCPAddr: opts.Listen, TLSAddr: opts.TLSListen}
	if opts.TLSListen != "" {
		tc, err := brokerTLS(opts)
		if err != nil {
			return usageError(err)
		}
		cfg.TLS = tc
	}
	if opts.UsersFile != "" {
		users, err := broker.LoadUsersFile(opts.UsersFile)
		if err != nil {
			return usageError(err)
		}
		cfg.Users = users
	}
	b, err := broker.New(cfg)
	if err != nil {
		return usageError(err)
	}
	if err := b.Start(); err != nil {
		return withExitCode(ExitScriptError, err)
	}
	defer b.Close()
	if a := b.Addr(); a != "" {
		fmt.Fprintf(opts.IO.ErrOut, "devicejs broker: mqtt on %s\n", a)
	}
	if a := b.TLSAddr(); a != "" {
		fmt.Fprintf(opts.IO.ErrOut, "devicejs broker: mqtts on %s\n", a)
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	fmt.Fprintln(opts.IO.ErrOut, "devicejs broker: stopping")
	return nil
}

// brokerTLS loads the server's TLS settings from the --tls-* files.
func brokerTLS(opts *BrokerOptions) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(opts.TLSCert, opts.TLSKey)
	if err != nil {
		return nil, fmt.Errorf("--tls-cert/--tls-key: %w", err)
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	if opts.TLSCA != "" {
		pem, err := os.ReadFile(opts.TLSCA)
		if err != nil {
			return nil, fmt.Errorf("--tls-ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--tls-ca: no certificate in %s", opts.TLSCA)
		}
		tc.ClientCAs = pool
		tc.ClientAuth = tls.VerifyClientCertIfGiven
		if opts.RequireClientCert {
			tc.ClientAuth = tls.RequireAndVerifyClientCert
		}
	}
	return tc, nil
}
