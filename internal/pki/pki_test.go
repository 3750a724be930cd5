package pki_test

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/devicejs/devicejs/internal/pki"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func verify(t *testing.T, ca *pki.CA, c *pki.Cert, usage x509.ExtKeyUsage, host string) error {
	t.Helper()
	_, err := c.Cert.Verify(x509.VerifyOptions{
		Roots:     ca.Pool(),
		DNSName:   host,
		KeyUsages: []x509.ExtKeyUsage{usage},
	})
	return err
}

func TestKeyTypes(t *testing.T) {
	ca := pki.Must(pki.NewCA("root"))
	tt := []struct {
		name    string
		kt      pki.KeyType
		pemType string
	}{
		{"ecdsa pkcs8", pki.ECDSA, "PRIVATE KEY"},
		{"ecdsa sec1", pki.ECDSASEC1, "EC PRIVATE KEY"},
		{"rsa pkcs1", pki.RSAPKCS1, "RSA PRIVATE KEY"},
		{"rsa pkcs8", pki.RSAPKCS8, "PRIVATE KEY"},
	}
	for _, tc := range tt {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ca.IssueServerWith([]string{"localhost", "127.0.0.1", "::1"}, pki.WithKeyType(tc.kt), pki.WithRSABits(1024))
			if err != nil {
				t.Fatal(err)
			}
			b, _ := pem.Decode(c.KeyPEM)
			if b == nil || b.Type != tc.pemType {
				t.Fatalf("key PEM type = %v, want %q", b, tc.pemType)
			}
			if _, err := tls.X509KeyPair(c.CertPEM, c.KeyPEM); err != nil {
				t.Fatalf("X509KeyPair: %v", err)
			}
			for _, h := range []string{"localhost", "127.0.0.1", "::1"} {
				if err := verify(t, ca, c, x509.ExtKeyUsageServerAuth, h); err != nil {
					t.Errorf("verify %s: %v", h, err)
				}
			}
			if c.Cert.Subject.CommonName != "localhost" {
				t.Errorf("CN = %q", c.Cert.Subject.CommonName)
			}
		})
	}
}

func TestValidity(t *testing.T) {
	ca := pki.Must(pki.NewCA("root"))
	tt := []struct {
		name string
		opt  pki.Option
		want string
	}{
		{"expired", pki.Expired(), "expired"},
		{"not yet valid", pki.NotYetValid(), "not yet valid"},
	}
	for _, tc := range tt {
		t.Run(tc.name, func(t *testing.T) {
			c := pki.Must(ca.IssueServerWith([]string{"localhost"}, tc.opt))
			err := verify(t, ca, c, x509.ExtKeyUsageServerAuth, "localhost")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("verify err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestCNOnly(t *testing.T) {
	ca := pki.Must(pki.NewCA("root"))
	c := pki.Must(ca.IssueServerWith([]string{"localhost"}, pki.CNOnly()))
	if len(c.Cert.DNSNames)+len(c.Cert.IPAddresses) != 0 {
		t.Fatalf("SANs present: %v %v", c.Cert.DNSNames, c.Cert.IPAddresses)
	}
	if c.Cert.Subject.CommonName != "localhost" {
		t.Fatalf("CN = %q", c.Cert.Subject.CommonName)
	}
	if err := verify(t, ca, c, x509.ExtKeyUsageServerAuth, "localhost"); err == nil {
		t.Fatal("Go verified a CN-only certificate by host name")
	}
}

func TestClientAndIntermediate(t *testing.T) {
	ca := pki.Must(pki.NewCA("root"))
	cl := pki.Must(ca.IssueClient("device-1"))
	if err := verify(t, ca, cl, x509.ExtKeyUsageClientAuth, ""); err != nil {
		t.Fatal(err)
	}
	if err := verify(t, ca, cl, x509.ExtKeyUsageServerAuth, ""); err == nil {
		t.Fatal("client cert verified for server auth")
	}
	other := pki.Must(pki.NewCA("other"))
	if err := verify(t, other, cl, x509.ExtKeyUsageClientAuth, ""); err == nil {
		t.Fatal("verified against the wrong CA")
	}
	mid := pki.Must(ca.IssueIntermediate("mid"))
	leaf := pki.Must(mid.IssueServer("localhost"))
	inter := x509.NewCertPool()
	inter.AddCert(mid.Cert.Cert)
	if _, err := leaf.Cert.Verify(x509.VerifyOptions{Roots: ca.Pool(), Intermediates: inter, DNSName: "localhost"}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(leaf.ChainPEM), string(mid.CertPEM)) {
		t.Fatal("ChainPEM lacks the intermediate")
	}
}

func TestSelfSignedTLSHandshake(t *testing.T) {
	srv := pki.Must(pki.SelfSigned("127.0.0.1"))
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{srv.TLSCertificate()}})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		defer c.Close()
		done <- c.(*tls.Conn).Handshake()
	}()
	c, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{RootCAs: srv.Pool(), ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("handshake timeout")
	}
}

func TestWriteFiles(t *testing.T) {
	ca := pki.Must(pki.NewCA("root"))
	dir := t.TempDir()
	cf, kf, err := ca.WriteFiles(dir, "ca")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tls.LoadX509KeyPair(cf, kf); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(kf)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, %v", st.Mode(), err)
	}
}

func TestMustPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	pki.Must(pki.NewCA("x", pki.WithKeyType(pki.KeyType(99))))
}

func ExampleNewCA() {
	ca := pki.Must(pki.NewCA("devicejs test CA"))
	srv := pki.Must(ca.IssueServer("localhost", "127.0.0.1"))
	fmt.Println(srv.Cert.Subject.CommonName, srv.Cert.DNSNames, srv.Cert.IPAddresses)
	// Output: localhost [localhost] [127.0.0.1]
}
