package cli_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/devicejs/devicejs/internal/pki"
	"github.com/devicejs/devicejs/internal/testbroker"
)

func TestConformanceEmbedded(t *testing.T) {
	t.Parallel()
	r := runBinary(t, "conformance", "--parallel", "6")
	if r.code != 0 || !strings.Contains(r.stdout, "30 passed, 0 failed, 0 skipped") {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	for _, sc := range []string{"broker up", "broker down", "broker restart", "wrong password", "wrong CA"} {
		if n := len(regexp.MustCompile(`(?m)^`+sc+` +sample\d\.js +embedded +PASS `).FindAllString(r.stdout, -1)); n != 6 {
			t.Errorf("%s: %d passing rows, want 6", sc, n)
		}
	}
}

// TestConformanceUserBroker points the command at a broker it does not control: a mosquitto
// the test starts, with TLS from certificates the test makes. The scenarios that need control
// of the broker are skipped; the TLS rows show --tls-broker.
func TestConformanceUserBroker(t *testing.T) {
	t.Parallel()
	ca := pki.Must(pki.NewCA("user CA"))
	server := pki.Must(ca.IssueServer("foo.bar"))
	b := testbroker.Mosquitto(t, testbroker.WithTLS(testbroker.TLS{CA: ca, Cert: server}))
	dir := t.TempDir()
	caFile, _, err := ca.WriteFiles(dir, "ca")
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile, err := pki.Must(ca.IssueClient("device01")).WriteFiles(dir, "client")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		args    []string
		summary string
		reasons []string
		tlsRows int // rows showing the TLS address
	}{
		{name: "with --tls-broker", args: []string{"--tls-broker", b.TLSAddr(), "--ssl-ca", caFile, "--ssl-cert", certFile, "--ssl-key", keyFile},
			summary: "12 passed, 0 failed, 18 skipped", tlsRows: 10,
			reasons: []string{"skipped broker down: broker.stop() needs the embedded broker", "skipped broker restart: broker.stop() needs the embedded broker",
				"skipped wrong password: broker.users() needs the embedded broker"}},
		{name: "without --tls-broker", summary: "8 passed, 0 failed, 22 skipped",
			reasons: []string{"skipped broker up: TLS sample: no --tls-broker given", "skipped wrong CA: TLS sample: no --tls-broker given"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runBinary(t, append([]string{"conformance", "--parallel", "6", "--broker", b.Addr()}, tc.args...)...)
			if r.code != 0 || !strings.Contains(r.stdout, tc.summary) {
				t.Fatalf("exit %d, want 0 and %q\nstdout:\n%s\nstderr:\n%s", r.code, tc.summary, r.stdout, r.stderr)
			}
			for _, want := range tc.reasons {
				if !strings.Contains(r.stdout, want) {
					t.Errorf("no %q in\n%s", want, r.stdout)
				}
			}
			if n := strings.Count(r.stdout, " "+b.TLSAddr()+" "); n != tc.tlsRows {
				t.Errorf("%d rows show the TLS address %s, want %d\n%s", n, b.TLSAddr(), tc.tlsRows, r.stdout)
			}
			for _, sc := range []string{"broker up", "wrong CA"} {
				if n := len(regexp.MustCompile(`(?m)^`+sc+` +sample[14-6]\.js +`+regexp.QuoteMeta(b.Addr())+` +PASS `).FindAllString(r.stdout, -1)); n != 4 {
					t.Errorf("%s: %d passing plain rows, want 4\n%s", sc, n, r.stdout)
				}
			}
		})
	}
}

// TestConformanceUsage checks the usage errors (exit 2) of the command.
func TestConformanceUsage(t *testing.T) {
	t.Parallel()
	ca := pki.Must(pki.NewCA("usage CA"))
	caFile, _, err := ca.WriteFiles(t.TempDir(), "ca")
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"--broker", "embedded", "--ssl-ca", caFile},
		{"--tls-broker", "127.0.0.1:8883"},
		{"--broker", "no-port"},
		{"--broker", "127.0.0.1:1883", "--tls-broker", "no-port"},
		{"--broker", "127.0.0.1:1883", "--ssl-ca", "/nonexistent/ca.pem"},
		{"--parallel", "0"},
		{"extra-arg"},
	} {
		if r := runBinary(t, append([]string{"conformance"}, args...)...); r.code != 2 {
			t.Errorf("conformance %v: exit %d, want 2\nstderr: %s", args, r.code, r.stderr)
		}
	}
}
