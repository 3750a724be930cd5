package mqttcore_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/devicejs/devicejs/internal/pki"
	"github.com/devicejs/devicejs/mqttcore"
)

// testPKI is a CA and certificates issued for the TLS tests, created once per test binary.
type testPKI struct {
	ca, otherCA   *pki.CA
	server        *pki.Cert // CA-signed, for "broker.test" and 127.0.0.1
	interServer   *pki.Cert // signed by an intermediate of ca; ChainPEM carries the intermediate
	expired       *pki.Cert
	selfSigned    *pki.Cert // for "broker.test", not a CA
	selfSignedCA  *pki.Cert // for "broker.test", with CA basic constraints
	clientsByType map[pki.KeyType]*pki.Cert
}

// sharedPKI creates the test certificates once per test binary.
var sharedPKI = sync.OnceValue(func() *testPKI {
	ca := pki.Must(pki.NewCA("devicejs test CA"))
	inter := pki.Must(ca.IssueIntermediate("devicejs test intermediate"))
	p := &testPKI{
		ca:            ca,
		otherCA:       pki.Must(pki.NewCA("other CA")),
		server:        pki.Must(ca.IssueServer("broker.test", "127.0.0.1")),
		interServer:   pki.Must(inter.IssueServer("broker.test")),
		expired:       pki.Must(ca.IssueServerWith([]string{"broker.test"}, pki.Expired())),
		selfSigned:    pki.Must(pki.SelfSigned("broker.test")),
		selfSignedCA:  pki.Must(pki.SelfSigned("broker.test", pki.AsCA())),
		clientsByType: map[pki.KeyType]*pki.Cert{},
	}
	for _, k := range []pki.KeyType{pki.ECDSA, pki.ECDSASEC1, pki.RSAPKCS1, pki.RSAPKCS8} {
		p.clientsByType[k] = pki.Must(ca.IssueClient("device-"+k.String(), pki.WithKeyType(k), pki.WithRSABits(2048)))
	}
	return p
})

func getPKI(t *testing.T) *testPKI {
	t.Helper()
	return sharedPKI()
}

func TestTLSConfigSettingsErrors(t *testing.T) {
	p := getPKI(t)
	ca := string(p.ca.CertPEM)
	client := p.clientsByType[pki.ECDSA]
	other := p.clientsByType[pki.RSAPKCS1]
	tt := []struct {
		name    string
		s       mqttcore.TLSSettings
		setting string // "" when valid
	}{
		{"nothing set", mqttcore.TLSSettings{}, ""},
		{"CA only", mqttcore.TLSSettings{CA: ca}, ""},
		{"CA bundle", mqttcore.TLSSettings{CA: ca + string(p.otherCA.CertPEM)}, ""},
		{"CA with surrounding blank lines", mqttcore.TLSSettings{CA: "\n" + ca + "\n\n"}, ""},
		{"CA and client", mqttcore.TLSSettings{CA: ca, Cert: string(client.CertPEM), Key: string(client.KeyPEM)}, ""},
		{"client chain", mqttcore.TLSSettings{CA: ca, Cert: string(client.ChainPEM), Key: string(client.KeyPEM)}, ""},

		{"CA garbage", mqttcore.TLSSettings{CA: "not a certificate"}, mqttcore.SettingCA},
		{"CA spec placeholder", mqttcore.TLSSettings{CA: "-----BEGIN CERTIFICATE-----\n(...ContentOmission...)\n-----END CERTIFICATE-----"}, mqttcore.SettingCA},
		{"CA truncated", mqttcore.TLSSettings{CA: ca[:len(ca)/2]}, mqttcore.SettingCA},
		{"CA trailing junk", mqttcore.TLSSettings{CA: ca + "junk"}, mqttcore.SettingCA},
		{"CA is a key", mqttcore.TLSSettings{CA: string(client.KeyPEM)}, mqttcore.SettingCA},
		{"CA bad DER", mqttcore.TLSSettings{CA: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"}, mqttcore.SettingCA},
		{"CA literal backslash-n", mqttcore.TLSSettings{CA: strings.ReplaceAll(ca, "\n", `\n`)}, mqttcore.SettingCA},
		{"cert without key", mqttcore.TLSSettings{CA: ca, Cert: string(client.CertPEM)}, mqttcore.SettingKey},
		{"key without cert", mqttcore.TLSSettings{CA: ca, Key: string(client.KeyPEM)}, mqttcore.SettingCert},
		{"mismatched key", mqttcore.TLSSettings{CA: ca, Cert: string(client.CertPEM), Key: string(other.KeyPEM)}, mqttcore.SettingCert},
		{"key garbage", mqttcore.TLSSettings{CA: ca, Cert: string(client.CertPEM), Key: "garbage"}, mqttcore.SettingCert},
		{"cert garbage", mqttcore.TLSSettings{CA: ca, Cert: "garbage", Key: string(client.KeyPEM)}, mqttcore.SettingCert},
	}
	for _, tc := range tt {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := tc.s.Config("broker.test")
			if tc.setting == "" {
				if err != nil || cfg == nil {
					t.Fatalf("Config() = %v, %v", cfg, err)
				}
				if cfg.MinVersion != tls.VersionTLS12 || cfg.ServerName != "broker.test" || cfg.InsecureSkipVerify {
					t.Fatalf("Config() = MinVersion %x ServerName %q InsecureSkipVerify %v", cfg.MinVersion, cfg.ServerName, cfg.InsecureSkipVerify)
				}
				return
			}
			var ce *mqttcore.CertError
			if !errors.As(err, &ce) || ce.Setting != tc.setting {
				t.Fatalf("Config() error = %v, want *CertError for %s", err, tc.setting)
			}
			if !mqttcore.IsTLSError(err) || mqttcore.ErrnoFromError(err) != mqttcore.ErrnoTLS {
				t.Fatalf("IsTLSError(%v) = false; the session must report errnoConnect 7", err)
			}
			if cfg != nil {
				t.Fatalf("Config() returned a config with error %v", err)
			}
		})
	}
}

// handshake runs a real TLS handshake over a 127.0.0.1 TCP connection: a tls.Server with
// serverCfg against a tls.Client with the config built from s for serverName. It returns the
// client's and the server's handshake errors.
func handshake(t *testing.T, s mqttcore.TLSSettings, serverName string, serverCfg *tls.Config) (clientErr, serverErr error) {
	t.Helper()
	cfg, err := s.Config(serverName)
	if err != nil {
		t.Fatalf("Config() = %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	serverDone := make(chan error, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			serverDone <- err
			return
		}
		defer conn.Close()
		srv := tls.Server(conn, serverCfg)
		err = srv.HandshakeContext(ctx)
		if err == nil {
			// TLS 1.3: the client certificate is checked after the client's Finished; read
			// until the client closes so that a late alert reaches the client.
			_, err = io.Copy(io.Discard, srv)
		}
		serverDone <- err
	}()

	raw, err := (&net.Dialer{}).DialContext(ctx, "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	cl := tls.Client(raw, cfg)
	clientErr = cl.HandshakeContext(ctx)
	if clientErr == nil {
		// Surface a server-side refusal of the client certificate (TLS 1.3 sends it late).
		_ = cl.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		var b [1]byte
		if _, err := cl.Read(b[:]); err != nil && !errors.Is(err, io.EOF) && !isTimeout(err) {
			clientErr = err
		}
	}
	cl.Close()
	return clientErr, <-serverDone
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func serverConfig(c *pki.Cert, chain bool) *tls.Config {
	tc := c.TLSCertificate()
	if chain {
		pair, err := tls.X509KeyPair(c.ChainPEM, c.KeyPEM)
		if err != nil {
			panic(err)
		}
		tc = pair
	}
	return &tls.Config{Certificates: []tls.Certificate{tc}}
}

func TestTLSHandshakeServerVerification(t *testing.T) {
	p := getPKI(t)
	ca := string(p.ca.CertPEM)
	tls11 := serverConfig(p.server, false)
	tls11.MaxVersion = tls.VersionTLS11
	tls11.MinVersion = tls.VersionTLS10
	tt := []struct {
		name       string
		settings   mqttcore.TLSSettings
		serverName string
		server     *tls.Config
		ok         bool
		selfSigned bool
	}{
		{"CA-signed server accepted", mqttcore.TLSSettings{CA: ca}, "broker.test", serverConfig(p.server, false), true, false},
		{"CA-signed server by IP", mqttcore.TLSSettings{CA: ca}, "127.0.0.1", serverConfig(p.server, false), true, false},
		{"intermediate chain accepted", mqttcore.TLSSettings{CA: ca}, "broker.test", serverConfig(p.interServer, true), true, false},
		{"CA in a bundle", mqttcore.TLSSettings{CA: string(p.otherCA.CertPEM) + ca}, "broker.test", serverConfig(p.server, false), true, false},

		{"hostname mismatch refused", mqttcore.TLSSettings{CA: ca}, "other.test", serverConfig(p.server, false), false, false},
		{"IP mismatch refused", mqttcore.TLSSettings{CA: ca}, "127.0.0.2", serverConfig(p.server, false), false, false},
		{"unknown CA refused", mqttcore.TLSSettings{CA: string(p.otherCA.CertPEM)}, "broker.test", serverConfig(p.server, false), false, false},
		{"expired refused", mqttcore.TLSSettings{CA: ca}, "broker.test", serverConfig(p.expired, false), false, false},
		{"intermediate missing refused", mqttcore.TLSSettings{CA: ca}, "broker.test", serverConfig(p.interServer, false), false, false},
		{"self-signed refused", mqttcore.TLSSettings{CA: ca}, "broker.test", serverConfig(p.selfSigned, false), false, false},
		{"self-signed refused even as CA", mqttcore.TLSSettings{CA: string(p.selfSigned.CertPEM)}, "broker.test", serverConfig(p.selfSigned, false), false, true},
		{"self-signed CA cert refused even as CA", mqttcore.TLSSettings{CA: string(p.selfSignedCA.CertPEM)}, "broker.test", serverConfig(p.selfSignedCA, false), false, true},
		{"TLS 1.1 refused", mqttcore.TLSSettings{CA: ca}, "broker.test", tls11, false, false},
	}
	for _, tc := range tt {
		t.Run(tc.name, func(t *testing.T) {
			clientErr, _ := handshake(t, tc.settings, tc.serverName, tc.server)
			if tc.ok {
				if clientErr != nil {
					t.Fatalf("handshake: %v", clientErr)
				}
				return
			}
			if clientErr == nil {
				t.Fatal("handshake succeeded, want refusal")
			}
			if !mqttcore.IsTLSError(clientErr) {
				t.Fatalf("IsTLSError(%v) = false", clientErr)
			}
			if got := errors.Is(clientErr, mqttcore.ErrSelfSigned); got != tc.selfSigned {
				t.Fatalf("errors.Is(%v, ErrSelfSigned) = %v, want %v", clientErr, got, tc.selfSigned)
			}
		})
	}
}

func TestTLSHandshakeClientAuth(t *testing.T) {
	p := getPKI(t)
	ca := string(p.ca.CertPEM)
	requireClient := serverConfig(p.server, false)
	requireClient.ClientAuth = tls.RequireAndVerifyClientCert
	requireClient.ClientCAs = p.ca.Pool()

	for keyType, c := range p.clientsByType {
		t.Run(keyType.String(), func(t *testing.T) {
			s := mqttcore.TLSSettings{CA: ca, Cert: string(c.CertPEM), Key: string(c.KeyPEM)}
			clientErr, serverErr := handshake(t, s, "broker.test", requireClient)
			if clientErr != nil || serverErr != nil {
				t.Fatalf("client %v, server %v", clientErr, serverErr)
			}
		})
	}
	t.Run("no client certificate", func(t *testing.T) {
		clientErr, serverErr := handshake(t, mqttcore.TLSSettings{CA: ca}, "broker.test", requireClient)
		if serverErr == nil {
			t.Fatal("server accepted a client without certificate")
		}
		if clientErr == nil || !mqttcore.IsTLSError(clientErr) {
			t.Fatalf("client error %v, want a TLS error", clientErr)
		}
	})
}

func TestIsTLSError(t *testing.T) {
	tt := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"EOF", io.EOF, false},
		{"deadline", context.DeadlineExceeded, false},
		{"refused", &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connect: connection refused")}, false},
		{"reset", &net.OpError{Op: "read", Net: "tcp", Err: errors.New("connection reset by peer")}, false},
		{"unknown authority", x509.UnknownAuthorityError{}, true},
		{"hostname", x509.HostnameError{Certificate: &x509.Certificate{}, Host: "x"}, true},
		{"verification", &tls.CertificateVerificationError{Err: errors.New("x")}, true},
		{"record header", tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}, true},
		{"remote alert", &net.OpError{Op: "remote error", Err: errors.New("tls: bad certificate")}, true},
		{"plain tls message", errors.New("tls: handshake failure"), true},
		{"self-signed wrapped", &net.OpError{Op: "x", Err: mqttcore.ErrSelfSigned}, true},
		{"cert error", &mqttcore.CertError{Setting: mqttcore.SettingCA, Err: errors.New("bad")}, true},
	}
	for _, tc := range tt {
		t.Run(tc.name, func(t *testing.T) {
			if got := mqttcore.IsTLSError(tc.err); got != tc.want {
				t.Fatalf("IsTLSError(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}

func TestTLSPlainServerIsTLSError(t *testing.T) {
	// An mqtts:// URL pointed at a plain MQTT listener: the reply is not TLS.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		_, _ = c.Write([]byte("\x20\x02\x00\x00 this is not TLS at all"))
		_, _ = io.Copy(io.Discard, c)
	}()
	cfg, err := mqttcore.TLSSettings{}.Config("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	cl := tls.Client(raw, cfg)
	defer cl.Close()
	_ = cl.SetDeadline(time.Now().Add(10 * time.Second))
	err = cl.Handshake()
	if err == nil || !mqttcore.IsTLSError(err) {
		t.Fatalf("handshake with a plain server: %v; IsTLSError = false", err)
	}
}
