// Package embedroute routes a device's connections to an in-process broker over in-memory
// connections (no socket, no file descriptor), terminating TLS in process: a connection whose
// first byte is a TLS handshake record is served with a certificate for whatever host name the
// client asked for (its SNI), issued by a CA generated for the Route, which the client is told
// to trust; a client certificate from the same CA is offered for scripts that use one. A client
// that sends no SNI (Go's does not for an IP address: mqtts://127.0.0.1, mqtts://[::1]) gets a
// certificate with IP subject alternative names: the dialled address, 127.0.0.1 and ::1, and
// the name localhost.
package embedroute

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/devicejs/devicejs/internal/pki"
)

// ErrClosed is returned by Route.Dial after Close.
var ErrClosed = errors.New("embedded broker route closed")

// Route forwards dialled connections to a broker's plain in-memory listener. Safe for use from
// any goroutine.
type Route struct {
	// TrustCA, ClientCert and ClientKey are PEM: the CA that issues the in-process server
	// certificates, and a client certificate (with key) it signed.
	TrustCA, ClientCert, ClientKey string

	front *tlsFront
}

// New returns a Route to backend (typically broker.Broker.DialMemory).
func New(backend func(ctx context.Context) (net.Conn, error)) (*Route, error) {
	ca, err := pki.NewCA("devicejs embedded broker CA")
	if err != nil {
		return nil, err
	}
	client, err := ca.IssueClient("devicejs-device")
	if err != nil {
		return nil, err
	}
	certs := &sniCertificates{ca: ca, byHost: map[string]*tls.Certificate{}}
	serverTLS := &tls.Config{
		MinVersion: tls.VersionTLS12,
		ClientAuth: tls.VerifyClientCertIfGiven,
		ClientCAs:  ca.Pool(),
	}
	return &Route{
		TrustCA:    string(ca.CertPEM),
		ClientCert: string(client.CertPEM),
		ClientKey:  string(client.KeyPEM),
		front:      &tlsFront{backend: backend, config: serverTLS, certs: certs},
	}, nil
}

// Dial has the shape of net.Dialer.DialContext: it returns an in-memory connection forwarded
// to the backend, whatever the address; the address's host only names the server certificate
// of a TLS client that sends no SNI.
func (r *Route) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	return r.front.dial(ctx, network, addr)
}

// Close ends every forwarded connection and waits for their goroutines; later dials fail with
// ErrClosed. It does not close the broker.
func (r *Route) Close() { r.front.close() }

// sniCertificates issues (once per host name) a server certificate for the name a client asks for.
type sniCertificates struct {
	ca     *pki.CA
	mu     sync.Mutex
	byHost map[string]*tls.Certificate
}

// loopbackHosts are the names of the certificate for a client that sends no SNI, besides the
// address it dialled.
var loopbackHosts = []string{"localhost", "127.0.0.1", "::1"}

// get returns the certificate for a ClientHello naming sni; a client that sends none gets
// one for dialled (the host of the address it dialled, when that is an IP address) and the
// loopback names.
func (s *sniCertificates) get(sni, dialled string) (*tls.Certificate, error) {
	hosts, key := []string{sni}, sni
	if sni == "" {
		hosts, key = loopbackHosts, "no SNI"
		if ip := net.ParseIP(dialled); ip != nil && !slices.Contains(loopbackHosts, ip.String()) {
			hosts = append([]string{ip.String()}, loopbackHosts...)
			key += " " + ip.String()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.byHost[key]; ok {
		return c, nil
	}
	issued, err := s.ca.IssueServer(hosts...)
	if err != nil {
		return nil, fmt.Errorf("issuing a certificate for %q: %w", hosts, err)
	}
	c := issued.TLSCertificate()
	s.byHost[key] = &c
	return &c, nil
}

// tlsFront hands each dial an in-memory connection whose far end is forwarded to the broker,
// terminating TLS first when the client starts with a TLS handshake.
type tlsFront struct {
	backend func(ctx context.Context) (net.Conn, error)
	config  *tls.Config // without certificates: serve adds the dialled host's (certs)
	certs   *sniCertificates

	mu     sync.Mutex
	closed bool
	conns  map[net.Conn]struct{}
	wg     sync.WaitGroup
}

func (f *tlsFront) dial(ctx context.Context, _, addr string) (net.Conn, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil, ErrClosed
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	return &lazyConn{f: f, host: host, ready: make(chan struct{})}, nil
}

// forward returns the client end of a connection forwarded by serve (the TLS path); host is
// the host of the address the client dialled.
func (f *tlsFront) forward(host string) (net.Conn, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil, ErrClosed
	}
	if f.conns == nil {
		f.conns = map[net.Conn]struct{}{}
	}
	client, server := net.Pipe()
	f.conns[server] = struct{}{}
	f.wg.Add(1)
	go f.serve(server, host)
	return client, nil
}

// direct returns a plain in-memory connection straight to the backend, tracked so that close
// ends it: no goroutine and no copy buffer of its own.
func (f *tlsFront) direct() (net.Conn, error) {
	c, err := f.backend(context.Background())
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		c.Close()
		return nil, ErrClosed
	}
	if f.conns == nil {
		f.conns = map[net.Conn]struct{}{}
	}
	f.conns[c] = struct{}{}
	return c, nil
}

// release forgets a direct connection that was closed.
func (f *tlsFront) release(c net.Conn) {
	f.mu.Lock()
	delete(f.conns, c)
	f.mu.Unlock()
}

// copyBufSize is the buffer of each direction of a forwarded (TLS) connection: device packets
// are small, and io.Copy's default would be 32 KiB per direction per connection.
const copyBufSize = 4 << 10

// serve terminates TLS on server, the far end of a connection whose first byte was a TLS
// handshake record (see lazyConn), and forwards the plaintext to the broker; it owns server
// and closes it when either side ends. dialled is the host of the address the client dialled.
func (f *tlsFront) serve(server net.Conn, dialled string) {
	defer f.wg.Done()
	defer func() {
		f.mu.Lock()
		delete(f.conns, server)
		f.mu.Unlock()
		server.Close()
	}()
	config := f.config.Clone()
	config.GetCertificate = func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
		return f.certs.get(hello.ServerName, dialled)
	}
	in := tls.Server(server, config)
	server.SetDeadline(time.Now().Add(30 * time.Second))
	if err := in.Handshake(); err != nil {
		return
	}
	server.SetDeadline(time.Time{})
	backend, err := f.backend(context.Background())
	if err != nil {
		return
	}
	defer backend.Close()
	done := make(chan struct{}, 2)
	go func() {
		io.CopyBuffer(backend, in, make([]byte, copyBufSize))
		backend.Close()
		done <- struct{}{}
	}()
	go func() {
		io.CopyBuffer(in, backend, make([]byte, copyBufSize))
		in.Close()
		done <- struct{}{}
	}()
	<-done
	in.Close()
	backend.Close()
	<-done
}

// close ends every forwarded connection and waits for their goroutines.
func (f *tlsFront) close() {
	f.mu.Lock()
	f.closed = true
	for c := range f.conns {
		c.Close()
	}
	f.mu.Unlock()
	f.wg.Wait()
}

// TLSDefaults fills what the device's TLS settings leave empty with the route's: the CA to
// trust when ca is "", the client certificate and key when both cert and key are "" (a
// script's or host's own settings always win). The root package, fleet and devtest route an
// embedded broker this one way.
func (r *Route) TLSDefaults(ca, cert, key string) (string, string, string) {
	if ca == "" {
		ca = r.TrustCA
	}
	if cert == "" && key == "" {
		cert, key = r.ClientCert, r.ClientKey
	}
	return ca, cert, key
}
