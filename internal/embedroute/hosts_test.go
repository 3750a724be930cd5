package embedroute_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"testing"
	"time"

	"github.com/devicejs/devicejs/broker"
	"github.com/devicejs/devicejs/internal/embedroute"
)

// TestTLSHostForms dials the route with every form of host a device URL may hold and
// verifies the server certificate as a Go client does (crypto/tls sends no SNI for an IP
// address and checks the certificate's IP SANs instead): each handshake must succeed and the
// broker answer CONNECT. mqtts://127.0.0.1 failed with errno 7 before (issue 11).
func TestTLSHostForms(t *testing.T) {
	b, err := broker.New(broker.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	r, err := embedroute.New(b.DialMemory)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM([]byte(r.TrustCA)) {
		t.Fatal("TrustCA is not PEM")
	}
	for _, addr := range []string{
		"127.0.0.1:8883",
		"[::1]:8883",
		"localhost:8883",
		"127.0.0.2:8883",
		"10.1.2.3:8883",
		"192.168.0.10:1883",
		"[2001:db8::1]:8883",
		"[::ffff:127.0.0.1]:8883",
		"device.example:8883",
		"127.0.0.1", // no port
		"broker.local",
	} {
		t.Run(addr, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			host, _, err := net.SplitHostPort(addr)
			if err != nil {
				host = addr
			}
			raw, err := r.Dial(ctx, "tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer raw.Close()
			raw.SetDeadline(time.Now().Add(10 * time.Second))
			tc := tls.Client(raw, &tls.Config{ServerName: host, RootCAs: pool, MinVersion: tls.VersionTLS12})
			if err := tc.HandshakeContext(ctx); err != nil {
				t.Fatalf("handshake for %s: %v", host, err)
			}
			expectConnack(t, tc)
		})
	}
}

// TestTLSWrongNameStillFails checks that the certificate is not a wildcard: a client that
// names one host (SNI) and verifies another is refused.
func TestTLSWrongNameStillFails(t *testing.T) {
	b, err := broker.New(broker.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	r, err := embedroute.New(b.DialMemory)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM([]byte(r.TrustCA))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	raw, err := r.Dial(ctx, "tcp", "10.1.2.3:8883")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	raw.SetDeadline(time.Now().Add(10 * time.Second))
	// No SNI (an IP), but the client verifies an address the certificate does not hold.
	tc := tls.Client(raw, &tls.Config{ServerName: "10.9.9.9", RootCAs: pool})
	if err := tc.HandshakeContext(ctx); err == nil {
		t.Fatal("handshake verified 10.9.9.9 against a certificate for 10.1.2.3 and loopback")
	}
}
