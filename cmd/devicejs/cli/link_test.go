package cli_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/devicejs/devicejs/internal/testbroker"
)

// roundTripScript publishes three timestamped messages to a topic it subscribes to, prints
// each one's round trip in device milliseconds and ends. The next publish waits 50 ms: the
// device refuses a publish while the previous one is still being sent.
const roundTripScript = `
var c = mqtt.connect('%URL%', {clientId: 'link-e2e'});
var n = 0;
c.on('message', function(topic, message) {
	print('rtt ' + (Date.now() - Number(message)));
	if (++n < 3) { setTimeout(function() { c.publish('link/rt', String(Date.now()), {qos: 0}); }, 50); } else { c.end(); }
});
c.on('connect', function() {
	c.subscribe('link/rt', {qos: 0}, function(err) {
		c.publish('link/rt', String(Date.now()), {qos: 0});
	});
});
`

// TestLinkFlagDelaysRoundTrips runs a script through `devicejs run --link latency=200ms` and
// reads the round trips it measured: each crosses the link twice, so each is at least 400 ms.
func TestLinkFlagDelaysRoundTrips(t *testing.T) {
	mochi := testbroker.Mochi(t)
	mosq := testbroker.Mosquitto(t)
	tt := []struct {
		name   string
		url    string // the script's own broker URL
		broker []string
	}{
		{"embedded", "mqtt://example.invalid:1883", []string{"--broker", "embedded"}},
		{"embedded TLS", "mqtts://example.invalid:8883", []string{"--broker", "embedded"}},
		{"HOST:PORT mosquitto", "mqtt://example.invalid:1883", []string{"--broker", mosq.Addr()}},
		{"script's own address", "mqtt://" + mochi.Addr(), nil},
	}
	for _, tc := range tt {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // the runs mostly wait on the link; only lower bounds are timed
			p := script(t, "rt.js", strings.ReplaceAll(roundTripScript, "%URL%", tc.url))
			args := append([]string{"run", "--link", "latency=200ms", "--timeout", "30s"}, tc.broker...)
			r := runBinary(t, append(args, p)...)
			if r.code != 0 {
				t.Fatalf("code %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
			}
			lines := strings.Fields(strings.ReplaceAll(r.stdout, "rtt", ""))
			if len(lines) != 3 {
				t.Fatalf("want 3 round trips, got stdout %q", r.stdout)
			}
			for _, l := range lines {
				ms, err := strconv.Atoi(l)
				if err != nil {
					t.Fatalf("stdout %q", r.stdout)
				}
				if rtt := time.Duration(ms) * time.Millisecond; rtt < 400*time.Millisecond || rtt > 400*time.Millisecond+3*time.Second {
					t.Fatalf("round trip %v through --link latency=200ms, want >= 400ms (stdout %q)", rtt, r.stdout)
				}
			}
		})
	}
}

// TestLinkFlagWithoutLinkIsFast is the control: the same script without --link measures round
// trips far below 400 ms on loopback.
func TestLinkFlagWithoutLinkIsFast(t *testing.T) {
	p := script(t, "rt.js", strings.ReplaceAll(roundTripScript, "%URL%", "mqtt://example.invalid:1883"))
	r := runBinary(t, "run", "--broker", "embedded", "--timeout", "30s", p)
	if r.code != 0 {
		t.Fatalf("code %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	for _, l := range strings.Fields(strings.ReplaceAll(r.stdout, "rtt", "")) {
		if ms, err := strconv.Atoi(l); err != nil || ms >= 400 {
			t.Fatalf("round trip %q ms without a link (stdout %q)", l, r.stdout)
		}
	}
}

func TestLinkFlagUsageErrors(t *testing.T) {
	t.Parallel()
	p := script(t, "noop.js", "print('never')")
	tt := []struct {
		spec, field string
	}{
		{"latency=soon", `"latency"`},
		{"loss=200%", `"loss"`},
		{"bandwidth=9", `"bandwidth"`},
		{"5g", `"5g"`},
		{"colour=red", `"colour"`},
	}
	for _, tc := range tt {
		for _, cmd := range []string{"run", "fleet"} {
			t.Run(cmd+" "+tc.spec, func(t *testing.T) {
				r := runBinary(t, cmd, "--link", tc.spec, p)
				if r.code != 2 || !strings.Contains(r.stderr, "--link") || !strings.Contains(r.stderr, tc.field) {
					t.Fatalf("code %d stderr %q: want exit 2 naming --link and %s", r.code, r.stderr, tc.field)
				}
				if strings.Contains(r.stdout, "never") {
					t.Fatal("the script ran despite the usage error")
				}
			})
		}
	}
}

// TestLinkFlagFleet runs two instances through a profile: both measure round trips above the
// profile's two latencies. Each instance has a topic of its own (INSTANCE): on one topic each
// would count the other's messages too, and the total depended on how the runs interleaved.
func TestLinkFlagFleet(t *testing.T) {
	t.Parallel()
	src := strings.ReplaceAll(roundTripScript, "%URL%", "mqtt://example.invalid:1883")
	p := script(t, "rt.js", strings.ReplaceAll(src, "'link/rt'", "'link/rt/' + INSTANCE"))
	r := runBinary(t, "fleet", "-n", "2", "--client-id", "link-e2e-{i}", "--broker", "embedded", "--link", "3g", "--timeout", "30s",
		"--define", "INSTANCE={i}", p)
	if r.code != 0 {
		t.Fatalf("code %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	n := 0
	for _, f := range strings.Fields(r.stdout) {
		ms, err := strconv.Atoi(f)
		if err != nil {
			continue
		}
		n++
		// 3g: latency 100ms, jitter 20ms each way: at least 160 ms.
		if ms < 160 {
			t.Fatalf("round trip %d ms through 3g (stdout %q)", ms, r.stdout)
		}
	}
	if n != 6 {
		t.Fatalf("want 6 round trips from 2 instances, got %d (stdout %q)", n, r.stdout)
	}
}
