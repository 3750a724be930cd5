// Package embedroute routes a device's connections to an in-process broker over in-memory
// connections (no socket, no file descriptor), terminating TLS in process: a connection whose
// first byte is a TLS handshake record is served with a certificate for whatever host name the
// client asked for (its SNI), issued by a CA generated for the Route, which the client is told
// to trust; a client certificate from the same CA is offered for scripts that use one.
package embedroute

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
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
		MinVersion:     tls.VersionTLS12,
		GetCertificate: certs.get,
		ClientAuth:     tls.VerifyClientCertIfGiven,
		ClientCAs:      ca.Pool(),
	}
	return &Route{
		TrustCA:    string(ca.CertPEM),
		ClientCert: string(client.CertPEM),
		ClientKey:  string(client.KeyPEM),
		front:      &tlsFront{backend: backend, config: serverTLS},
	}, nil
}

// Dial has the shape of net.Dialer.DialContext: it ignores the address and returns an
// in-memory connection forwarded to the backend.
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

func (s *sniCertificates) get(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	host := hello.ServerName
	if host == "" {
		host = "localhost"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.byHost[host]; ok {
		return c, nil
	}
	issued, err := s.ca.IssueServer(host)
	if err != nil {
		return nil, fmt.Errorf("issuing a certificate for %q: %w", host, err)
	}
	c := issued.TLSCertificate()
	s.byHost[host] = &c
	return &c, nil
}

// tlsFront hands each dial an in-memory connection whose far end is forwarded to the broker,
// terminating TLS first when the client starts with a TLS handshake.
type tlsFront struct {
	backend func(ctx context.Context) (net.Conn, error)
	config  *tls.Config

	mu     sync.Mutex
	closed bool
	conns  map[net.Conn]struct{}
	wg     sync.WaitGroup
}

func (f *tlsFront) dial(ctx context.Context, _, _ string) (net.Conn, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil, ErrClosed
	}
	return &lazyConn{f: f, ready: make(chan struct{})}, nil
}

// forward returns the client end of a connection forwarded by serve (the TLS path).
func (f *tlsFront) forward() (net.Conn, error) {
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
	go f.serve(server)
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
// and closes it when either side ends.
func (f *tlsFront) serve(server net.Conn) {
	defer f.wg.Done()
	defer func() {
		f.mu.Lock()
		delete(f.conns, server)
		f.mu.Unlock()
		server.Close()
	}()
	in := tls.Server(server, f.config)
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
