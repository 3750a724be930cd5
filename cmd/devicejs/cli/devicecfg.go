package cli

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"

	"github.com/spf13/pflag"

	"github.com/devicejs/devicejs"
	"github.com/devicejs/devicejs/broker"
	"github.com/devicejs/devicejs/runtime"
)

// addDeviceFlags registers the flags that `run` and `fleet` share: where and how long a device
// runs (--for, --timeout, --time-scale, --broker, --ssl-*).
func addDeviceFlags(f *pflag.FlagSet, opts *RunOptions) {
	f.DurationVar(&opts.For, "for", 0, "stop cleanly after this much device time and exit 0 (e.g. 90s, 16h)")
	f.DurationVar(&opts.Timeout, "timeout", 0, "stop after this much wall time and exit 3")
	f.Float64Var(&opts.TimeScale, "time-scale", 1, "device time runs this many times faster than wall time (0.001 to 1e6)")
	f.StringVar(&opts.Broker, "broker", "", `route every connection to "embedded" (an in-process broker) or HOST:PORT`)
	f.StringVar(&opts.SSLCAFile, "ssl-ca", "", "PEM file used instead of the script's mqtt.set('ssl.ca')")
	f.StringVar(&opts.SSLCert, "ssl-cert", "", "PEM file used instead of the script's mqtt.set('ssl.cert')")
	f.StringVar(&opts.SSLKey, "ssl-key", "", "PEM file used instead of the script's mqtt.set('ssl.key')")
	f.StringArrayVar(&opts.Defines, "define", nil, "a global the script sees before it runs, KEY=VALUE: VALUE is JSON when it is a JSON text "+
		`(3, true, {"a":1}, "quoted"), else a string; in a fleet {i}, {n} and {id} are the instance's index, N and --client-id (repeatable)`)
	addLinkFlag(f, opts)
}

// validateDeviceFlags checks the shared flags' values (usage errors).
func validateDeviceFlags(opts *RunOptions) error {
	if err := runtime.CheckTimeScale(opts.TimeScale); err != nil {
		return usageError(fmt.Errorf("--time-scale: %w", err))
	}
	if opts.For < 0 || opts.Timeout < 0 {
		return usageError(errors.New("--for and --timeout must not be negative"))
	}
	if _, _, err := parseLinkFlag(opts); err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, def := range opts.Defines {
		k, _, ok := strings.Cut(def, "=")
		if !ok {
			return usageError(fmt.Errorf("--define %q: want KEY=VALUE", def))
		}
		if _, _, err := runtime.ParseGlobal(k + "="); err != nil {
			return usageError(fmt.Errorf("--define %q: %w", def, err))
		}
		if seen[k] {
			return usageError(fmt.Errorf("--define %q: %s is defined twice", def, k))
		}
		seen[k] = true
	}
	return nil
}

// runDeviceConfig turns the shared flags into the configuration of `devicejs run` through the
// embedding API's own routing fields (deviceConfig with the default embedded broker).
func runDeviceConfig(opts *RunOptions) (cfg devicejs.Config, closeBroker func(), err error) {
	return deviceConfig(opts, broker.Config{})
}

// deviceConfig turns the shared flags into a device configuration through the embedding
// API's own routing fields, so that run and fleet take the path a Go host takes:
// --broker HOST:PORT is Config.Broker, --broker embedded a started broker in Config.Embedded
// (TLS terminated in process, its CA trusted and its client certificate offered unless
// --ssl-* say otherwise), --link Config.Link with the seed linkSeed. closeBroker stops the
// embedded broker (a no-op without one). bc configures the embedded broker. package fleet
// shares the embedded route and the link among its instances. Errors are usage errors.
func deviceConfig(opts *RunOptions, bc broker.Config) (cfg devicejs.Config, closeBroker func(), err error) {
	overrides, err := readSSLOverrides(opts)
	if err != nil {
		return cfg, nil, usageError(err)
	}
	if err := checkBrokerFlag(opts.Broker); err != nil {
		return cfg, nil, usageError(err)
	}
	var clock runtime.Clock = runtime.NewWallClock()
	if opts.TimeScale != 1 {
		clock = runtime.NewScaledClock(opts.TimeScale)
	}
	cfg = devicejs.Config{
		Stdout: opts.IO.Out,
		// Diagnostics (a recovered Go panic, sessions not released at the end) go to stderr.
		Logger:   slog.New(slog.NewTextHandler(opts.IO.ErrOut, &slog.HandlerOptions{Level: slog.LevelWarn})),
		TLS:      devicejs.TLS{CA: overrides.CA, Cert: overrides.Cert, Key: overrides.Key},
		Clock:    clock,
		For:      opts.For,
		Link:     opts.Link,
		LinkSeed: linkSeed,
	}
	closeBroker = func() {}
	switch opts.Broker {
	case "":
	case "embedded":
		b, err := broker.New(bc)
		if err == nil {
			err = b.Start()
		}
		if err != nil {
			return cfg, nil, usageError(fmt.Errorf("--broker embedded: %w", err))
		}
		cfg.Embedded, closeBroker = b, func() { _ = b.Close() }
	default:
		cfg.Broker = opts.Broker
	}
	return cfg, closeBroker, nil
}

// checkBrokerFlag checks --broker: "", "embedded" or HOST:PORT with a host and a port from 1
// to 65535 (the rule of devicejs.AddressDialer, checked here to give a usage error before any
// work).
func checkBrokerFlag(broker string) error {
	if broker == "" || broker == "embedded" {
		return nil
	}
	if _, err := devicejs.AddressDialer(broker); err != nil {
		if _, _, splitErr := net.SplitHostPort(broker); splitErr != nil {
			return fmt.Errorf("--broker: want \"embedded\" or HOST:PORT, got %q", broker)
		}
		return fmt.Errorf("--broker: bad address %q", broker)
	}
	return nil
}
