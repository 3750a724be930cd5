package bindings_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/devicejs/devicejs/bindings"
	"github.com/devicejs/devicejs/internal/leakcheck"
	"github.com/devicejs/devicejs/internal/testbroker"
	"github.com/devicejs/devicejs/mqttcore"
	"github.com/devicejs/devicejs/runtime"
)

// TestMain checks that no test leaves a goroutine behind: paho clients, mochi, timers.
func TestMain(m *testing.M) {
	leakcheck.Main(m)
}

// startBroker runs the embedded broker (testbroker.Mochi) on a free loopback port and returns
// its address ("127.0.0.1:PORT"). It is closed when the test ends.
func startBroker(t testing.TB) string {
	t.Helper()
	addr, _ := startBrokerHook(t)
	return addr
}

// startBrokerHook is startBroker, also returning the broker's test hook, which records why
// clients disconnected.
func startBrokerHook(t testing.TB) (string, *allowHook) {
	t.Helper()
	hook := &allowHook{disconnects: make(chan error, 16)}
	return testbroker.Mochi(t, testbroker.WithHook(hook)).Addr(), hook
}

// allowHook records why clients disconnected and delays publishes to "slow/..." topics (the
// broker admits every client and topic itself).
type allowHook struct {
	mochi.HookBase
	disconnects chan error // the cause of each client disconnection, nil for a DISCONNECT packet
}

func (h *allowHook) ID() string { return "bindings-test" }

func (h *allowHook) Provides(b byte) bool {
	return b == mochi.OnDisconnect || b == mochi.OnPublish
}

// slowTopicDelay is how long the broker sits on a PUBLISH to a topic under "slow/" before
// handling (and acknowledging) it, so that a test can rely on a publish being in flight.
const slowTopicDelay = 300 * time.Millisecond

func (h *allowHook) OnPublish(_ *mochi.Client, pk packets.Packet) (packets.Packet, error) {
	if strings.HasPrefix(pk.TopicName, "slow/") {
		time.Sleep(slowTopicDelay)
	}
	return pk, nil
}

func (h *allowHook) OnDisconnect(_ *mochi.Client, err error, _ bool) {
	select {
	case h.disconnects <- err:
	default:
	}
}

// env is one script run: the script, where its broker URLs lead and the bindings config.
type env struct {
	// Broker replaces the word BROKER in the script with "mqtt://" + Broker.
	Broker string
	// RouteTo, if set, makes every connection dial this address whatever the URL says (the
	// CLI's routing of verbatim samples).
	RouteTo string
	Config  bindings.Config
	Limits  mqttcore.Limits
	// Scale is the device clock's speed-up; 0 means 10.
	Scale float64
	// For ends the run after this wall time (the CLI's --for); 0 means 20 s, a test failure
	// guard.
	For time.Duration
	// MaxCallStackSize bounds the JS call depth; 0 means the runtime's default.
	MaxCallStackSize int
}

// run runs src to its end and returns what it printed and Run's error.
func (e env) run(t testing.TB, src string) (string, error) {
	t.Helper()
	if e.Broker != "" {
		src = strings.ReplaceAll(src, "BROKER", "mqtt://"+e.Broker)
	}
	scale := e.Scale
	if scale == 0 {
		scale = 10
	}
	limit := e.For
	if limit == 0 {
		limit = 20 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	var out bytes.Buffer
	l := runtime.New(runtime.Options{Stdout: &out, Clock: runtime.NewScaledClock(scale), MaxCallStackSize: e.MaxCallStackSize})
	hc := mqttcore.HostConfig{Limits: e.Limits}
	if e.RouteTo != "" {
		to := e.RouteTo
		hc.Dial = func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, to)
		}
	}
	cfg := e.Config
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	err := l.Run(ctx, "test.js", src, func(l *runtime.Loop) error {
		return bindings.Register(l, bindings.NewHost(l, hc), cfg)
	})
	return out.String(), err
}

// mustRun runs src and fails the test if Run returned an error.
func (e env) mustRun(t testing.TB, src string) string {
	t.Helper()
	out, err := e.run(t, src)
	if err != nil {
		t.Fatalf("run: %v\noutput:\n%s", err, out)
	}
	return out
}
