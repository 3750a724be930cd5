// Package pki generates X.509 certificates and keys for tests and for the
// embedded broker's TLS listeners.
//
// Everything is in memory and fast: keys are ECDSA P-256 unless an RSA key is
// asked for with [WithKeyType]. Each issued [Cert] carries its PEM encodings
// (CertPEM, KeyPEM), a ready [tls.Certificate] and, for CAs, a [x509.CertPool].
//
// All functions and methods are safe for concurrent use.
package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// KeyType selects the private key algorithm and the PEM encoding of KeyPEM.
type KeyType int

const (
	// ECDSA is an ECDSA P-256 key encoded as PKCS#8 ("PRIVATE KEY"). It is the default.
	ECDSA KeyType = iota
	// ECDSASEC1 is an ECDSA P-256 key encoded as SEC 1 ("EC PRIVATE KEY").
	ECDSASEC1
	// RSAPKCS1 is an RSA key encoded as PKCS#1 ("RSA PRIVATE KEY").
	RSAPKCS1
	// RSAPKCS8 is an RSA key encoded as PKCS#8 ("PRIVATE KEY").
	RSAPKCS8
)

// String returns the key type's name.
func (k KeyType) String() string {
	switch k {
	case ECDSA:
		return "ecdsa-pkcs8"
	case ECDSASEC1:
		return "ecdsa-sec1"
	case RSAPKCS1:
		return "rsa-pkcs1"
	case RSAPKCS8:
		return "rsa-pkcs8"
	}
	return fmt.Sprintf("KeyType(%d)", int(k))
}

// IssueOptions are the knobs of one issued certificate. The zero value gives
// an ECDSA P-256 leaf valid from one hour ago for one year.
type IssueOptions struct {
	// NotBefore is the start of validity; zero = one hour ago.
	NotBefore time.Time
	// NotAfter is the end of validity; zero = NotBefore + 1 year (+ 10 years for CAs).
	NotAfter time.Time
	// KeyType is the key algorithm and its PEM encoding; default ECDSA (PKCS#8).
	KeyType KeyType
	// RSABits is the RSA modulus size; zero = 2048. Ignored for ECDSA keys.
	RSABits int
	// CNOnly leaves the subject alternative names out: the host names are put
	// only in the subject common name (a legacy certificate that Go rejects).
	CNOnly bool
	// IsCA makes the certificate a CA (basic constraints CA:TRUE, cert signing).
	IsCA bool
}

// Option changes IssueOptions.
type Option func(*IssueOptions)

// WithValidity sets the validity window.
func WithValidity(notBefore, notAfter time.Time) Option {
	return func(o *IssueOptions) { o.NotBefore, o.NotAfter = notBefore, notAfter }
}

// Expired makes a certificate that expired an hour ago (valid from 48 h ago to 1 h ago).
func Expired() Option {
	now := time.Now()
	return WithValidity(now.Add(-48*time.Hour), now.Add(-time.Hour))
}

// NotYetValid makes a certificate that becomes valid in 24 hours.
func NotYetValid() Option {
	now := time.Now()
	return WithValidity(now.Add(24*time.Hour), now.Add(48*time.Hour))
}

// WithKeyType selects the key algorithm and PEM encoding.
func WithKeyType(k KeyType) Option { return func(o *IssueOptions) { o.KeyType = k } }

// WithRSABits sets the RSA modulus size (use with an RSA KeyType).
func WithRSABits(bits int) Option { return func(o *IssueOptions) { o.RSABits = bits } }

// CNOnly puts the host names only into the common name, with no SANs.
func CNOnly() Option { return func(o *IssueOptions) { o.CNOnly = true } }

// AsCA marks the certificate as a CA.
func AsCA() Option { return func(o *IssueOptions) { o.IsCA = true } }

// WithOptions replaces all options with o.
func WithOptions(o IssueOptions) Option { return func(p *IssueOptions) { *p = o } }

// Cert is a certificate with its private key.
type Cert struct {
	// Cert is the parsed certificate.
	Cert *x509.Certificate
	// Key is the private key (*ecdsa.PrivateKey or *rsa.PrivateKey).
	Key crypto.Signer
	// CertPEM is the certificate as one PEM "CERTIFICATE" block.
	CertPEM []byte
	// KeyPEM is the private key in the PEM encoding chosen by KeyType.
	KeyPEM []byte
	// ChainPEM is CertPEM followed by the issuing CA's certificate (when it is
	// not self-signed), for servers that send the chain.
	ChainPEM []byte
}

// TLSCertificate returns the certificate and key as a tls.Certificate.
func (c *Cert) TLSCertificate() tls.Certificate {
	return tls.Certificate{
		Certificate: [][]byte{c.Cert.Raw},
		PrivateKey:  c.Key,
		Leaf:        c.Cert,
	}
}

// Pool returns a new pool holding only this certificate (useful for a CA or
// a self-signed certificate).
func (c *Cert) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(c.Cert)
	return p
}

// WriteFiles writes name.crt (CertPEM, mode 0644) and name.key (KeyPEM, mode
// 0600) into dir and returns their paths.
func (c *Cert) WriteFiles(dir, name string) (certFile, keyFile string, err error) {
	certFile = filepath.Join(dir, name+".crt")
	keyFile = filepath.Join(dir, name+".key")
	if err := os.WriteFile(certFile, c.CertPEM, 0o644); err != nil {
		return "", "", fmt.Errorf("pki: write cert: %w", err)
	}
	if err := os.WriteFile(keyFile, c.KeyPEM, 0o600); err != nil {
		return "", "", fmt.Errorf("pki: write key: %w", err)
	}
	return certFile, keyFile, nil
}

// CA is a certificate authority that issues server and client certificates.
type CA struct {
	Cert
}

// NewCA creates a self-signed root CA with the given common name.
func NewCA(cn string, opts ...Option) (*CA, error) {
	o := apply(opts)
	o.IsCA = true
	c, err := issue(cn, nil, o, usageCA, nil)
	if err != nil {
		return nil, err
	}
	return &CA{Cert: *c}, nil
}

// WriteFiles writes name.crt and name.key into dir (see Cert.WriteFiles).
// For a CA the .crt file is the cafile of mosquitto and mosquitto_sub.
func (ca *CA) WriteFiles(dir, name string) (certFile, keyFile string, err error) {
	return ca.Cert.WriteFiles(dir, name)
}

// IssueServer issues a server certificate for hosts: each host becomes a DNS
// or IP subject alternative name, and the first host is the common name.
func (ca *CA) IssueServer(hosts ...string) (*Cert, error) {
	return ca.IssueServerWith(hosts)
}

// IssueServerWith is IssueServer with options.
func (ca *CA) IssueServerWith(hosts []string, opts ...Option) (*Cert, error) {
	if len(hosts) == 0 {
		return nil, errors.New("pki: IssueServer needs at least one host")
	}
	return issue(hosts[0], hosts, apply(opts), usageServer, ca)
}

// IssueClient issues a client certificate with common name cn.
func (ca *CA) IssueClient(cn string, opts ...Option) (*Cert, error) {
	return issue(cn, nil, apply(opts), usageClient, ca)
}

// IssueIntermediate issues a sub-CA signed by ca.
func (ca *CA) IssueIntermediate(cn string, opts ...Option) (*CA, error) {
	o := apply(opts)
	o.IsCA = true
	c, err := issue(cn, nil, o, usageCA, ca)
	if err != nil {
		return nil, err
	}
	return &CA{Cert: *c}, nil
}

// SelfSigned creates a self-signed server certificate for host (DNS name or
// IP), usable for both server and client authentication.
func SelfSigned(host string, opts ...Option) (*Cert, error) {
	return issue(host, []string{host}, apply(opts), usageServer|usageClient, nil)
}

// Must panics if err is not nil and returns v otherwise. For tests:
//
//	ca := pki.Must(pki.NewCA("test CA"))
func Must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

type usage int

const (
	usageServer usage = 1 << iota
	usageClient
	usageCA
)

func apply(opts []Option) IssueOptions {
	var o IssueOptions
	for _, f := range opts {
		if f != nil {
			f(&o)
		}
	}
	return o
}

// issue creates a certificate; parent nil means self-signed.
func issue(cn string, hosts []string, o IssueOptions, u usage, parent *CA) (*Cert, error) {
	key, keyPEM, err := newKey(o)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("pki: serial: %w", err)
	}
	nb, na := o.NotBefore, o.NotAfter
	if nb.IsZero() {
		nb = time.Now().Add(-time.Hour)
	}
	if na.IsZero() {
		na = nb.AddDate(1, 0, 0)
		if o.IsCA {
			na = nb.AddDate(10, 0, 0)
		}
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn, Organization: []string{"devicejs test"}},
		NotBefore:    nb,
		NotAfter:     na,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		SubjectKeyId: keyID(key.Public()),
	}
	if _, isRSA := key.(*rsa.PrivateKey); isRSA {
		tmpl.KeyUsage |= x509.KeyUsageKeyEncipherment
	}
	if u&usageServer != 0 {
		tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsageServerAuth)
	}
	if u&usageClient != 0 {
		tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsageClientAuth)
	}
	if o.IsCA {
		tmpl.IsCA = true
		tmpl.BasicConstraintsValid = true
		tmpl.KeyUsage |= x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	}
	if !o.CNOnly {
		for _, h := range hosts {
			if ip := net.ParseIP(h); ip != nil {
				tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
			} else {
				tmpl.DNSNames = append(tmpl.DNSNames, h)
			}
		}
	}
	signerCert, signerKey := tmpl, key
	if parent != nil {
		signerCert, signerKey = parent.Cert.Cert, parent.Key
		tmpl.AuthorityKeyId = parent.Cert.Cert.SubjectKeyId
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signerCert, key.Public(), signerKey)
	if err != nil {
		return nil, fmt.Errorf("pki: create certificate %q: %w", cn, err)
	}
	parsed, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("pki: parse certificate: %w", err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	chain := append([]byte(nil), certPEM...)
	if parent != nil {
		chain = append(chain, parent.CertPEM...)
	}
	return &Cert{Cert: parsed, Key: key, CertPEM: certPEM, KeyPEM: keyPEM, ChainPEM: chain}, nil
}

func newKey(o IssueOptions) (crypto.Signer, []byte, error) {
	switch o.KeyType {
	case ECDSA, ECDSASEC1:
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, nil, fmt.Errorf("pki: ecdsa key: %w", err)
		}
		var der []byte
		typ := "PRIVATE KEY"
		if o.KeyType == ECDSASEC1 {
			der, err = x509.MarshalECPrivateKey(k)
			typ = "EC PRIVATE KEY"
		} else {
			der, err = x509.MarshalPKCS8PrivateKey(k)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("pki: marshal key: %w", err)
		}
		return k, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), nil
	case RSAPKCS1, RSAPKCS8:
		bits := o.RSABits
		if bits == 0 {
			bits = 2048
		}
		k, err := rsa.GenerateKey(rand.Reader, bits)
		if err != nil {
			return nil, nil, fmt.Errorf("pki: rsa key: %w", err)
		}
		if o.KeyType == RSAPKCS1 {
			return k, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}), nil
		}
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			return nil, nil, fmt.Errorf("pki: marshal key: %w", err)
		}
		return k, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
	}
	return nil, nil, fmt.Errorf("pki: unknown key type %v", o.KeyType)
}

func keyID(pub crypto.PublicKey) []byte {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil
	}
	sum := sha1.Sum(der)
	return sum[:]
}
