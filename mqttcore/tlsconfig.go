package mqttcore

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"strings"
)

// Names of the TLS settings, as given to mqtt.set(); used in CertError.Setting.
const (
	SettingCA   = "ssl.ca"
	SettingCert = "ssl.cert"
	SettingKey  = "ssl.key"
)

// TLSSettings are the PEM strings set with mqtt.set('ssl.ca' | 'ssl.cert' | 'ssl.key').
// An empty string means not set.
type TLSSettings struct {
	CA   string // CA certificate(s) that the broker's chain must end in; "" = the host's roots
	Cert string // client certificate (chain), for client authentication
	Key  string // client private key: PKCS#1, PKCS#8 or SEC1 (EC)
}

// CertError is an unusable TLS setting (bad PEM, a certificate that does not parse, a key that
// does not match, a certificate without key or a key without certificate). The spec treats it as
// a connection failure: the session reports it as errnoConnect 7 (IsTLSError is true).
type CertError struct {
	Setting string // SettingCA, SettingCert or SettingKey
	Err     error
}

// Error implements error.
func (e *CertError) Error() string { return "mqtt: " + e.Setting + ": " + e.Err.Error() }

// Unwrap returns the underlying error.
func (e *CertError) Unwrap() error { return e.Err }

// ErrSelfSigned is the verification error for a broker that presents a self-signed certificate
// (the spec: "Self-signed certificates are not allowed"), even when that certificate was set as
// the CA.
var ErrSelfSigned = errors.New("mqtt: tls: self-signed server certificate is not allowed")

// Config builds the client *tls.Config for a broker at serverName (Endpoint.Host): TLS 1.2 or
// later, the broker's certificate chain verified against CA (or the host's roots when CA is
// empty) with hostname verification always on, self-signed broker certificates refused, and
// the client certificate presented when both Cert and Key are set: always, whatever CA list
// the broker's certificate request names (GetClientCertificate). Setting only one of Cert and
// Key is a *CertError rather than silently disabling client authentication. Every error is a
// *CertError.
func (t TLSSettings) Config(serverName string) (*tls.Config, error) {
	cfg := &tls.Config{
		MinVersion:       tls.VersionTLS12,
		ServerName:       serverName,
		VerifyConnection: refuseSelfSigned,
	}
	if t.CA != "" {
		pool, err := parseCAPool(t.CA)
		if err != nil {
			return nil, &CertError{Setting: SettingCA, Err: err}
		}
		cfg.RootCAs = pool
	}
	switch {
	case t.Cert != "" && t.Key != "":
		pair, err := tls.X509KeyPair([]byte(t.Cert), []byte(t.Key))
		if err != nil {
			return nil, &CertError{Setting: SettingCert, Err: err}
		}
		// Always sent when the broker asks for one, as the device does. With Certificates,
		// crypto/tls sends nothing when the certificate's issuer is not in the broker's
		// acceptable-CA list (or its key type is not in the requested signature schemes),
		// and the broker then sees no client authentication at all.
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return &pair, nil
		}
	case t.Cert != "":
		return nil, &CertError{Setting: SettingKey, Err: errors.New("client certificate set without a private key")}
	case t.Key != "":
		return nil, &CertError{Setting: SettingCert, Err: errors.New("client private key set without a certificate")}
	}
	return cfg, nil
}

// parseCAPool parses one or more PEM CERTIFICATE blocks. Unlike CertPool.AppendCertsFromPEM it
// refuses anything else: other block types, certificates that do not parse, or trailing text.
func parseCAPool(s string) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	rest := []byte(s)
	n := 0
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("PEM block %q is not a CERTIFICATE", block.Type)
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, err
		}
		pool.AddCert(c)
		n++
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, errors.New("not valid PEM")
	}
	if n == 0 {
		return nil, errors.New("no certificate in PEM")
	}
	return pool, nil
}

// refuseSelfSigned runs after the standard chain and hostname verification and refuses a leaf
// that is self-signed (issuer equals subject and the signature verifies with its own key):
// crypto/tls accepts such a leaf when it is itself in RootCAs.
func refuseSelfSigned(cs tls.ConnectionState) error {
	if len(cs.PeerCertificates) == 0 {
		return nil
	}
	leaf := cs.PeerCertificates[0]
	if !bytes.Equal(leaf.RawIssuer, leaf.RawSubject) {
		return nil
	}
	if leaf.CheckSignature(leaf.SignatureAlgorithm, leaf.RawTBSCertificate, leaf.Signature) != nil {
		return nil
	}
	return ErrSelfSigned
}

// IsTLSError reports whether err (or any error it wraps) is a TLS failure, which the spec
// reports as errnoConnect 7: an unusable TLS setting (*CertError), a certificate verification
// failure (including ErrSelfSigned and hostname mismatch), an alert from the peer, a non-TLS
// reply to the handshake, or any other crypto/tls handshake error. A network failure during
// the handshake (connection reset, timeout) is not a TLS error.
func IsTLSError(err error) bool {
	if err == nil {
		return false
	}
	var (
		certErr      *CertError
		verifyErr    *tls.CertificateVerificationError
		unknownAuth  x509.UnknownAuthorityError
		hostErr      x509.HostnameError
		invalidErr   x509.CertificateInvalidError
		recordErr    tls.RecordHeaderError
		alertErr     tls.AlertError
		echErr       *tls.ECHRejectionError
		opErr        *net.OpError
		sysRootsErr  x509.SystemRootsError
		constraint   x509.ConstraintViolationError
		insecureAlgo x509.InsecureAlgorithmError
	)
	switch {
	case errors.Is(err, ErrSelfSigned),
		errors.As(err, &certErr),
		errors.As(err, &verifyErr),
		errors.As(err, &unknownAuth),
		errors.As(err, &hostErr),
		errors.As(err, &invalidErr),
		errors.As(err, &recordErr),
		errors.As(err, &alertErr),
		errors.As(err, &echErr),
		errors.As(err, &sysRootsErr),
		errors.As(err, &constraint),
		errors.As(err, &insecureAlgo):
		return true
	case errors.As(err, &opErr) && opErr.Op == "remote error":
		// crypto/tls reports a received alert as net.OpError{Op: "remote error"}.
		return true
	}
	// crypto/tls reports most local handshake failures as plain errors starting "tls: ", and
	// paho may flatten the chain; look for that prefix in the message.
	msg := err.Error()
	return strings.HasPrefix(msg, "tls: ") || strings.Contains(msg, ": tls: ")
}
