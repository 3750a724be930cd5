package cli_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/devicejs/devicejs/broker"
	"github.com/devicejs/devicejs/internal/pki"
)

func TestConformanceEmbedded(t *testing.T) {
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

// TestConformanceUserBroker points the command at a broker it does not control.
func TestConformanceUserBroker(t *testing.T) {
	ca := pki.Must(pki.NewCA("user CA"))
	server := pki.Must(ca.IssueServer("foo.bar"))
	b, err := broker.New(broker.Config{TCPAddr: "127.0.0.1:0", TLSAddr: "127.0.0.1:0",
		CertPEM: server.CertPEM, KeyPEM: server.KeyPEM, ClientCAPEM: ca.CertPEM})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	dir := t.TempDir()
	caFile, _, err := ca.WriteFiles(dir, "ca")
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile, err := pki.Must(ca.IssueClient("device01")).WriteFiles(dir, "client")
	if err != nil {
		t.Fatal(err)
	}
	r := runBinary(t, "conformance", "--parallel", "6", "--broker", b.Addr(), "--tls-broker", b.TLSAddr(),
		"--ssl-ca", caFile, "--ssl-cert", certFile, "--ssl-key", keyFile)
	if r.code != 0 || !strings.Contains(r.stdout, "12 passed, 0 failed, 18 skipped") ||
		!strings.Contains(r.stdout, "skipped broker restart: needs a broker devicejs controls: it kills and restarts the broker mid-run") {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	// Without a TLS address the TLS samples are skipped too.
	r = runBinary(t, "conformance", "--parallel", "6", "--broker", b.Addr())
	if r.code != 0 || !strings.Contains(r.stdout, "8 passed, 0 failed, 22 skipped") ||
		!strings.Contains(r.stdout, "TLS sample: no --tls-broker given") {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	if r := runBinary(t, "conformance", "--broker", "embedded", "--ssl-ca", caFile); r.code != 2 {
		t.Fatalf("--ssl-ca with embedded: exit %d", r.code)
	}
}
