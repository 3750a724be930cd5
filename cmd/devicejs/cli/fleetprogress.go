package cli

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"time"

	"github.com/spf13/pflag"

	"github.com/devicejs/devicejs/fleet"
)

// defaultProgressInterval is how often `devicejs fleet` writes a progress line when stderr is
// not a terminal (CI, nohup, kubectl logs).
const defaultProgressInterval = 10 * time.Second

// addFleetLiveFlags registers --progress-interval and --metrics.
func addFleetLiveFlags(f *pflag.FlagSet, opts *FleetOptions) {
	f.DurationVar(&opts.ProgressInterval, "progress-interval", defaultProgressInterval,
		"when stderr is not a terminal, write a key=value progress line to it this often; 0 = none")
	f.StringVar(&opts.Metrics, "metrics", "", "serve the fleet's figures in the Prometheus text format at /metrics on this address, "+
		"e.g. 127.0.0.1:9464 (PORT or :PORT bind loopback)")
}

// validateFleetLive checks --progress-interval and --metrics (usage errors naming the flag).
func validateFleetLive(opts *FleetOptions) error {
	if opts.ProgressInterval < 0 {
		return usageError(fmt.Errorf("--progress-interval must not be negative, got %s", opts.ProgressInterval))
	}
	if opts.Metrics != "" {
		if opts.Workers > 0 {
			return usageError(fmt.Errorf("--metrics cannot be combined with --workers yet"))
		}
		addr, err := resolveMetricsAddr(opts.IO, opts.Metrics)
		if err != nil {
			return err
		}
		opts.metricsAddr = addr
	}
	return nil
}

// fleetSettings are the run's settings recorded in the summary, the report and the metrics.
func fleetSettings(opts *FleetOptions, source string) *fleet.Settings {
	sum := sha256.Sum256([]byte(source))
	return &fleet.Settings{
		Version: Version, Broker: opts.Broker, Link: opts.Link, Ramp: opts.Ramp.String(), For: opts.For.String(),
		TimeScale: opts.TimeScale, Shard: opts.Shard.String(), ScriptSHA256: hex.EncodeToString(sum[:]),
		E2EProbe: opts.E2EProbe, E2ESubscriber: opts.E2ESubscriber,
	}
}

// startFleetProgress starts the progress output of fl on stderr: the redrawn line on a terminal
// (or when opts.Progress forces it), key=value lines every --progress-interval otherwise, none
// for a worker of --workers or when opts.Progress suppresses it.
func startFleetProgress(opts *FleetOptions, fl *fleet.Fleet, start time.Time) (stop func()) {
	tty := isTerminal(opts.IO.ErrOut)
	if opts.Progress != nil {
		tty = *opts.Progress
		if !tty {
			return func() {}
		}
	}
	switch {
	case opts.NoticeFD > 0:
		return func() {}
	case tty:
		return startProgress(opts.IO.ErrOut, fl)
	case opts.ProgressInterval > 0:
		return startProgressLines(opts.IO.ErrOut, fl, start, opts.ProgressInterval)
	}
	return func() {}
}

// startProgressLines writes one progress line on w every interval until stop is called, with
// the figures of the terminal line as key=value pairs:
//
//	progress t=10.0s started=100 instances=100 connected=98 reconnecting=2 errors=0 published=1234 received=1200 done=0 msg_per_s=120.0 pub_per_s=12.3
func startProgressLines(w io.Writer, fl *fleet.Fleet, start time.Time, interval time.Duration) (stop func()) {
	lo, hi := fl.Indices()
	done, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(interval)
		defer t.Stop()
		last, lastAt := fl.Progress(), time.Now()
		for {
			select {
			case <-done:
				return
			case now := <-t.C:
				p := fl.Progress()
				fmt.Fprint(w, progressLine(p, hi-lo, now.Sub(start), now.Sub(lastAt), last))
				last, lastAt = p, now
			}
		}
	}()
	return func() { close(done); <-finished }
}

// progressLine formats one non-terminal progress line: p at elapsed, rates since last (dt ago).
func progressLine(p fleet.Progress, n int, elapsed, dt time.Duration, last fleet.Progress) string {
	secs := dt.Seconds()
	var msg, pub float64
	if secs > 0 {
		msg = float64(p.Received-last.Received) / secs
		pub = float64(p.Published-last.Published) / secs
	}
	return fmt.Sprintf("progress t=%.1fs started=%d instances=%d connected=%d reconnecting=%d errors=%d published=%d received=%d done=%d msg_per_s=%.1f pub_per_s=%.1f\n",
		elapsed.Seconds(), p.Started, n, p.Connected, p.Reconnecting, p.Errors, p.Published, p.Received, p.Done, msg, pub)
}
