package mqttcore_test

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"strings"
	"sync"
	"testing"

	"github.com/devicejs/devicejs/internal/pki"
	"github.com/devicejs/devicejs/mqttcore"
)

// TestTLSClientCertAlwaysSent checks that the configured client certificate is sent whatever
// acceptable-CA list the broker's certificate request names, as the device does (issue 12
// item 3). crypto/tls with tls.Config.Certificates silently sends no certificate when its
// issuer is not in that list; the broker then sees no client authentication at all.
func TestTLSClientCertAlwaysSent(t *testing.T) {
	p := getPKI(t)
	ca := string(p.ca.CertPEM)
	tt := []struct {
		name       string
		clientAuth tls.ClientAuthType
		clientCAs  *x509.CertPool // the acceptable-CA list the server sends
		maxVersion uint16
		serverOK   bool   // the server accepts the handshake
		serverErr  string // else: what the server reports
	}{
		{"request, other CA listed, TLS 1.3", tls.RequestClientCert, p.otherCA.Pool(), tls.VersionTLS13, true, ""},
		{"request, other CA listed, TLS 1.2", tls.RequestClientCert, p.otherCA.Pool(), tls.VersionTLS12, true, ""},
		{"require any, other CA listed, TLS 1.3", tls.RequireAnyClientCert, p.otherCA.Pool(), tls.VersionTLS13, true, ""},
		{"require any, other CA listed, TLS 1.2", tls.RequireAnyClientCert, p.otherCA.Pool(), tls.VersionTLS12, true, ""},
		{"request, no CA listed", tls.RequestClientCert, nil, tls.VersionTLS13, true, ""},
		{"own CA listed", tls.RequireAndVerifyClientCert, p.ca.Pool(), tls.VersionTLS13, true, ""},
		// The certificate arrives and the server's verification refuses it, instead of the
		// handshake passing without client authentication.
		{"verify if given, other CA listed", tls.VerifyClientCertIfGiven, p.otherCA.Pool(), tls.VersionTLS13, false, "unknown authority"},
		{"verify if given, other CA listed, TLS 1.2", tls.VerifyClientCertIfGiven, p.otherCA.Pool(), tls.VersionTLS12, false, "unknown authority"},
	}
	for _, keyType := range []pki.KeyType{pki.ECDSA, pki.RSAPKCS8} {
		client := p.clientsByType[keyType]
		for _, tc := range tt {
			t.Run(keyType.String()+"/"+tc.name, func(t *testing.T) {
				var (
					mu   sync.Mutex
					got  [][]byte
					seen bool
				)
				srv := serverConfig(p.server, false)
				srv.ClientAuth, srv.ClientCAs, srv.MaxVersion = tc.clientAuth, tc.clientCAs, tc.maxVersion
				srv.VerifyPeerCertificate = func(raw [][]byte, _ [][]*x509.Certificate) error {
					mu.Lock()
					defer mu.Unlock()
					got, seen = raw, true
					return nil
				}
				s := mqttcore.TLSSettings{CA: ca, Cert: string(client.CertPEM), Key: string(client.KeyPEM)}
				clientErr, serverErr := handshake(t, s, "broker.test", srv)
				mu.Lock()
				defer mu.Unlock()
				if tc.serverOK {
					if clientErr != nil || serverErr != nil {
						t.Fatalf("client %v, server %v", clientErr, serverErr)
					}
					if !seen || len(got) == 0 || !bytes.Equal(got[0], client.TLSCertificate().Certificate[0]) {
						t.Fatalf("server received %d certificates, want the configured one", len(got))
					}
					return
				}
				if serverErr == nil || !strings.Contains(serverErr.Error(), tc.serverErr) {
					t.Fatalf("server error %v, want %q (the certificate sent and refused)", serverErr, tc.serverErr)
				}
				if clientErr == nil || !mqttcore.IsTLSError(clientErr) {
					t.Fatalf("client error %v, want a TLS error (errnoConnect 7)", clientErr)
				}
			})
		}
	}
}
