package devicejs_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/devicejs/devicejs"
	"github.com/devicejs/devicejs/broker"
	"github.com/devicejs/devicejs/internal/syncbuf"
	"github.com/devicejs/devicejs/internal/testbroker"
)

// TestConfigLink: Config.Link puts an emulated link between the device and the embedded broker
// on device time: a QoS 1 publish's round trip over latency=200ms takes at least 400 ms of
// device time (and no such delay without it).
func TestConfigLink(t *testing.T) {
	b := testbroker.MochiConfig(t, broker.Config{})
	src := `var c = mqtt.connect('mqtt://broker:1883');
c.on('connect', function () {
  var t0 = Date.now();
  c.publish('t/x', 'hi', {qos: 1}, function (err) { print(err.code + ' ' + (Date.now() - t0)); c.end(); });
});`
	// Only the lower bound is asserted: wall-time scheduling on a loaded machine can only add
	// device time.
	for _, tc := range []struct {
		link string
		min  int
	}{
		{"", 0},
		{"latency=200ms", 400},
		{"latency=500ms,jitter=0ms", 1000},
	} {
		var out syncbuf.Buffer
		res, err := devicejs.Run(context.Background(), devicejs.Script{Source: src},
			devicejs.Config{Embedded: b, Stdout: &out, Link: tc.link, LinkSeed: 1, TimeScale: 10})
		if err != nil || res.Err != nil {
			t.Fatalf("link %q: %v %v", tc.link, err, res.Err)
		}
		f := strings.Fields(out.String())
		if len(f) != 2 || f[0] != "0" {
			t.Fatalf("link %q printed %q", tc.link, out.String())
		}
		ms, _ := strconv.Atoi(f[1])
		if ms < tc.min {
			t.Errorf("link %q: publish round trip %d ms of device time, want at least %d", tc.link, ms, tc.min)
		}
	}
}

// TestConfigLinkRefused: a malformed link is a ConfigError for Link.
func TestConfigLinkRefused(t *testing.T) {
	for _, spec := range []string{"latency=fast", "loss=200%", "nosuchprofile", "bandwidth=-1kbit,", "latency=1e400ms", "=", "3g,,"} {
		_, err := devicejs.New(devicejs.Config{Link: spec})
		var ce *devicejs.ConfigError
		if !errors.As(err, &ce) || ce.Field != "Link" || !errors.Is(err, devicejs.ErrInvalidConfig) {
			t.Errorf("Link %q: %v; want a ConfigError for Link", spec, err)
		}
	}
}
