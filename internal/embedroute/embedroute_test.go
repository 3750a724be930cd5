package embedroute_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/devicejs/devicejs/broker"
	"github.com/devicejs/devicejs/internal/embedroute"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// connect is an MQTT 3.1.1 CONNECT with client id "t", clean session, keepalive 30 s.
var connect = []byte{0x10, 13, 0, 4, 'M', 'Q', 'T', 'T', 4, 2, 0, 30, 0, 1, 't'}

// expectConnack writes CONNECT on c and checks the broker's CONNACK (accepted).
func expectConnack(t *testing.T, c io.ReadWriter) {
	t.Helper()
	if _, err := c.Write(connect); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 4)
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatal(err)
	}
	if got[0] != 0x20 || got[3] != 0 {
		t.Fatalf("CONNACK % x", got)
	}
}

func TestRoutePlainAndTLS(t *testing.T) {
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
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	plain, err := r.Dial(ctx, "tcp", "ignored:1883")
	if err != nil {
		t.Fatal(err)
	}
	plain.SetDeadline(time.Now().Add(10 * time.Second))
	expectConnack(t, plain)
	plain.Close()

	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM([]byte(r.TrustCA)) {
		t.Fatal("TrustCA is not PEM")
	}
	cert, err := tls.X509KeyPair([]byte(r.ClientCert), []byte(r.ClientKey))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := r.Dial(ctx, "tcp", "device.example:8883")
	if err != nil {
		t.Fatal(err)
	}
	raw.SetDeadline(time.Now().Add(10 * time.Second))
	tc := tls.Client(raw, &tls.Config{ServerName: "device.example", RootCAs: pool, Certificates: []tls.Certificate{cert}})
	if err := tc.HandshakeContext(ctx); err != nil {
		t.Fatal(err)
	}
	if cn := tc.ConnectionState().PeerCertificates[0].DNSNames; len(cn) == 0 || cn[0] != "device.example" {
		t.Fatalf("server certificate names %v, want the SNI", cn)
	}
	expectConnack(t, tc)

	r.Close() // ends the forwarded connection
	if _, err := io.ReadAll(tc); err != nil && !errors.Is(err, io.EOF) {
		t.Logf("read after Close: %v", err)
	}
	if _, err := r.Dial(ctx, "tcp", "x:1"); !errors.Is(err, embedroute.ErrClosed) {
		t.Fatalf("dial after Close: %v", err)
	}
}
