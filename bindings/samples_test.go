package bindings_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/devicejs/devicejs/bindings"
	"github.com/devicejs/devicejs/internal/pki"
	"github.com/devicejs/devicejs/internal/testbroker"
	"github.com/devicejs/devicejs/mqttcore"
)

// readSample returns testdata/samples/<name> verbatim.
func readSample(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "samples", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// slowStart are the lines samples print when their timer fires before the connection is up,
// which a heavily loaded machine can make happen; they may appear, but need not.
var slowStart = map[string]bool{"Skipped": true, "Cannot publish": true}

// checkLines checks a sample's output: it starts with first (after any slowStart lines), and every line is one of
// allowed, each of which appears at least once (or of slowStart). Lines from the timers'
// publish round trips interleave as the broker delivers them, so only the set is fixed.
func checkLines(t *testing.T, out, first string, allowed ...string) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	for len(lines) > 1 && slowStart[lines[0]] {
		lines = lines[1:]
	}
	if lines[0] != first {
		t.Errorf("first line %q, want %q\noutput:\n%s", lines[0], first, out)
	}
	seen := map[string]bool{}
	for _, l := range lines[1:] {
		seen[l] = true
	}
	for _, a := range allowed {
		if !seen[a] {
			t.Errorf("line %q missing\noutput:\n%s", a, out)
		}
		delete(seen, a)
	}
	for l := range seen {
		if !slowStart[l] {
			t.Errorf("unexpected line %q\noutput:\n%s", l, out)
		}
	}
}

// TestSamples runs the documented samples verbatim against an in-process broker, their
// 'foo.bar' URLs routed to it by the host's Dial, with device time 100x faster and the run
// ended from outside (like devicejs run --for).
func TestSamples(t *testing.T) {
	plain := testbroker.Mochi(t)
	ca := pki.Must(pki.NewCA("devicejs test CA"))
	tlsBroker := testbroker.Mochi(t, testbroker.WithTLS(testbroker.TLS{
		CA:                ca,
		Cert:              pki.Must(ca.IssueServer("foo.bar")),
		RequireClientCert: true,
	}))
	client := pki.Must(ca.IssueClient("foo"))
	tlsOverride := bindings.Config{SSL: mqttcore.TLSSettings{
		CA: string(ca.CertPEM), Cert: string(client.CertPEM), Key: string(client.KeyPEM),
	}}
	const publishOK = `Publish OK`
	tt := []struct {
		sample  string
		env     env
		first   string
		allowed []string
	}{
		{"sample1.js", env{RouteTo: plain.Addr()}, "CONNECTED", nil},
		{"sample2.js", env{RouteTo: tlsBroker.TLSAddr(), Config: tlsOverride}, "CONNECTED", nil},
		{"sample3.js", env{RouteTo: tlsBroker.TLSAddr(), Config: tlsOverride}, "CONNECTED", nil},
		{"sample5.js", env{RouteTo: plain.Addr()}, "CONNECTED",
			[]string{publishOK, `TOPIC: testtopic/subtopic/dummy MESSAGE: {"message":"dummy"}`}},
		{"sample6.js", env{RouteTo: plain.Addr()}, "CONNECTED",
			[]string{publishOK, `TOPIC: foo_topic/device01/dummy MESSAGE: {"message":"dummy"}`}},
	}
	for _, tc := range tt {
		t.Run(tc.sample, func(t *testing.T) {
			e := tc.env
			e.Scale = 100
			e.For = 400 * time.Millisecond // 40 s of device time: the 10 s and 15 s timers fire
			out, err := e.run(t, readSample(t, tc.sample))
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("err = %v, want the --for deadline\noutput:\n%s", err, out)
			}
			checkLines(t, out, tc.first, tc.allowed...)
		})
	}
}

// TestSampleTLSWithoutOverride: sample 2's placeholder CA is not a certificate, so without the
// CLI's override the connection fails with errnoConnect 7 (SSL/TLS error), reported through
// the sample's own error handler.
func TestSampleTLSWithoutOverride(t *testing.T) {
	ca := pki.Must(pki.NewCA("devicejs test CA"))
	b := testbroker.Mochi(t, testbroker.WithTLS(testbroker.TLS{CA: ca, Cert: pki.Must(ca.IssueServer("foo.bar"))}))
	e := env{RouteTo: b.TLSAddr(), Scale: 100, For: 150 * time.Millisecond}
	out, err := e.run(t, readSample(t, "sample2.js"))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v\noutput:\n%s", err, out)
	}
	if !strings.HasPrefix(out, "ERROR: 1 ERRNO: 7\n") || strings.Contains(out, "CONNECTED") {
		t.Errorf("output:\n%s\nwant ERROR: 1 ERRNO: 7 lines", out)
	}
}

// TestSample4 runs sample 4 verbatim: a busy top-level loop that connects, ends the client
// every 30 s of device time and connects again, waiting with setTimeout(200).wait() while the
// session resource is not yet released.
func TestSample4(t *testing.T) {
	b := testbroker.Mochi(t)
	e := env{RouteTo: b.Addr(), Scale: 100, For: 700 * time.Millisecond} // 70 s: two ABORTs
	out, err := e.run(t, readSample(t, "sample4.js"))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v\noutput:\n%s", err, out)
	}
	count := map[string]int{}
	for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		switch l {
		case "CONNECTED", "end event", "ABORT", "Waiting for mqtt resource release":
			count[l]++
		default:
			t.Errorf("unexpected line %q", l)
		}
	}
	if count["CONNECTED"] < 2 || count["ABORT"] < 1 {
		t.Errorf("want at least 2 CONNECTED and 1 ABORT\noutput:\n%s", out)
	}
}
