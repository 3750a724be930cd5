// Package broker is devicejs's embedded MQTT broker: a mochi-mqtt server
// (github.com/mochi-mqtt/server/v2) with plain TCP, TLS and in-memory
// listeners, optional username/password authentication and quiet logging.
//
// It backs `devicejs broker`, `devicejs run --broker embedded` and fleets of
// in-process devices, which connect through DialMemory without using a file
// descriptor each.
//
// A Broker is safe for concurrent use. See docs/broker.md.
package broker

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"net"
	"sync"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// Errors returned by a Broker.
var (
	// ErrNotStarted is returned by the dial methods and Publish before Start.
	ErrNotStarted = errors.New("broker: not started")
	// ErrClosed is returned by Start, the dial methods, Publish and Subscribe after Close.
	ErrClosed = errors.New("broker: closed")
	// ErrNoTLS is returned by DialMemoryTLS when the broker has no TLS configuration.
	ErrNoTLS = errors.New("broker: no TLS configured")
)

// disconnectListenerClients is mochi's closeListenerClients without its double read lock of
// the client table (netListener.Close): it takes the table once (Clients.GetAll) and
// disconnects the listener's clients that are still open.
func disconnectListenerClients(srv *mqtt.Server) func(listenerID string) {
	return func(id string) {
		for _, cl := range srv.Clients.GetAll() {
			if cl.Net.Listener == id && !cl.Closed() {
				_ = srv.DisconnectClient(cl, packets.ErrServerShuttingDown)
			}
		}
	}
}

// memReadBufSize is the size of mochi's per-client read buffer (a bufio.Reader it makes at
// connect, 2 KiB by default) in a broker with only memory connections (no TCPAddr or TLSAddr:
// the embedded broker of devicejs run and fleet). Reading a memory connection is a copy from
// its pipe, not a system call, so a larger buffer saves nothing; a fleet pays the buffer once
// per device (1.5 KiB less each here). Packets longer than the buffer are read as before:
// bufio hands reads larger than its buffer straight to the connection.
const memReadBufSize = 512

// sysTopicsNever is mochi's $SYS resend interval, in seconds, that never comes (68 years).
const sysTopicsNever = math.MaxInt32

// Listener ids as seen by mochi (mqtt.Client.Net.Listener).
const (
	ListenerTCP       = "tcp"
	ListenerTLS       = "tls"
	ListenerMemory    = "memory"
	ListenerMemoryTLS = "memory-tls"
)

// Config configures a Broker. The zero value is a broker with only memory
// connections, anonymous access and no logging.
type Config struct {
	// TCPAddr is the plain MQTT listen address, e.g. "127.0.0.1:1883" or
	// "127.0.0.1:0" for a free port; "" = no TCP listener.
	TCPAddr string
	// TLSAddr is the MQTT-over-TLS listen address; "" = no TLS listener.
	// It needs TLS or CertPEM/KeyPEM.
	TLSAddr string

	// TLS is the server TLS configuration. If nil, one is built from
	// CertPEM, KeyPEM, ClientCAPEM and RequireClientCert.
	TLS *tls.Config
	// CertPEM is the server certificate (chain) in PEM.
	CertPEM []byte
	// KeyPEM is the server private key in PEM (PKCS#1, PKCS#8 or SEC 1).
	KeyPEM []byte
	// ClientCAPEM holds the CA certificates that client certificates are
	// verified against. Without RequireClientCert a client certificate is
	// optional but verified when sent.
	ClientCAPEM []byte
	// RequireClientCert refuses TLS clients without a valid certificate
	// (needs ClientCAPEM).
	RequireClientCert bool

	// Users maps user name to password. nil allows anonymous clients; a
	// non-nil map (even empty) admits only clients sending a listed user
	// name with its password. All topics are open to admitted clients.
	Users map[string]string
	// UserTable, if non-nil, replaces Users with a table read at each CONNECT, so that it can
	// change while the broker runs: its result is used as Users would be (nil allows
	// anonymous clients). It must be safe for concurrent use and must not block.
	UserTable func() map[string]string

	// ACL, if non-nil, decides each publish (write) and subscribe or delivery (read) of an
	// admitted client: false refuses it (a refused subscribe gets SUBACK 0x80, a refused QoS 1/2
	// publish disconnects an MQTT 3 client, a refused QoS 0 publish is dropped). nil allows every
	// topic. It must be safe for concurrent use and must not block.
	ACL func(user, clientID, topic string, write bool) bool

	// Logger receives mochi's log records; nil discards them.
	Logger *slog.Logger

	// MaxPendingWrites bounds each client's outbound packet queue; 0 keeps
	// mochi's default of 8192. The queue is allocated up front at 8 bytes
	// per slot (64 KiB per client by default), so fleets of thousands of
	// clients may lower it. Beware: when a client's queue is full, mochi
	// drops further messages for it, QoS 1 and 2 included (counted in
	// Server().Info.MessagesDropped), so a small queue loses messages
	// under bursts of fan-in.
	MaxPendingWrites int
}

// Broker is an embedded MQTT broker. Create it with New, then Start; Close
// stops it. Safe for concurrent use.
type Broker struct {
	srv     *mqtt.Server
	guard   *sessionGuard
	tlsConf *tls.Config
	cfg     Config

	mu      sync.Mutex
	started bool
	closed  bool
	tcp     *netListener
	tlsl    *netListener
	mem     *memListener
	memTLS  *memListener

	log       *slog.Logger // Config.Logger or a discarding one
	subsMu    sync.Mutex   // guards subs, nextSubID, delivery
	subs      map[*inlineSub]struct{}
	nextSubID int
	delivery  DeliveryStats
	subsWG    sync.WaitGroup // Subscribe goroutines
	retainMu  sync.Mutex     // serializes retained Publish and Subscribe (a mochi data race between them)
}

// New validates c and returns a broker that is not yet listening.
func New(c Config) (*Broker, error) {
	c.Users = maps.Clone(c.Users)
	tc, err := serverTLS(c)
	if err != nil {
		return nil, err
	}
	if c.TLSAddr != "" && tc == nil {
		return nil, errors.New("broker: TLSAddr needs TLS or CertPEM/KeyPEM")
	}
	if c.MaxPendingWrites < 0 {
		return nil, errors.New("broker: MaxPendingWrites must not be negative")
	}
	log := c.Logger
	if log == nil {
		log = discardLogger()
	}
	caps := mqtt.NewDefaultServerCapabilities()
	if c.MaxPendingWrites > 0 {
		caps.MaximumClientWritesPending = int32(c.MaxPendingWrites)
	}
	// mochi republishes its $SYS topics every second from its own goroutine, writing retained
	// messages without the lock a wildcard subscribe's scan of them takes (a data race that
	// `go test -race` reports, docs/broker.md): they are published once, at Start.
	opts := &mqtt.Options{Logger: log, InlineClient: true, Capabilities: caps,
		SysTopicResendInterval: sysTopicsNever}
	if c.TCPAddr == "" && c.TLSAddr == "" {
		opts.ClientNetReadBufferSize = memReadBufSize
	}
	srv := mqtt.New(opts)
	if err := srv.AddHook(&authHook{users: c.Users, table: c.UserTable, acl: c.ACL}, nil); err != nil {
		return nil, fmt.Errorf("broker: auth hook: %w", err)
	}
	guard := newSessionGuard(srv)
	if err := srv.AddHook(guard, nil); err != nil {
		return nil, fmt.Errorf("broker: session guard hook: %w", err)
	}
	b := &Broker{srv: srv, guard: guard, tlsConf: tc, cfg: c, log: log}
	b.mem = newMemListener("memory")
	if tc != nil {
		b.memTLS = newMemListener("memory-tls")
	}
	return b, nil
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// serverTLS builds the TLS configuration, or nil when none is configured.
func serverTLS(c Config) (*tls.Config, error) {
	if c.TLS != nil {
		return c.TLS.Clone(), nil
	}
	if len(c.CertPEM) == 0 && len(c.KeyPEM) == 0 {
		if len(c.ClientCAPEM) > 0 || c.RequireClientCert {
			return nil, errors.New("broker: client certificate settings need CertPEM and KeyPEM")
		}
		return nil, nil
	}
	cert, err := tls.X509KeyPair(c.CertPEM, c.KeyPEM)
	if err != nil {
		return nil, fmt.Errorf("broker: server certificate: %w", err)
	}
	tc := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if len(c.ClientCAPEM) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(c.ClientCAPEM) {
			return nil, errors.New("broker: ClientCAPEM holds no certificate")
		}
		tc.ClientCAs = pool
		tc.ClientAuth = tls.VerifyClientCertIfGiven
	}
	if c.RequireClientCert {
		if tc.ClientCAs == nil {
			return nil, errors.New("broker: RequireClientCert needs ClientCAPEM")
		}
		tc.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return tc, nil
}

// Start opens the listeners and starts serving. It fails if an address
// cannot be bound, and after Close.
func (b *Broker) Start() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return ErrClosed
	}
	if b.started {
		return errors.New("broker: already started")
	}
	var opened []net.Listener
	fail := func(err error) error {
		for _, ln := range opened {
			_ = ln.Close()
		}
		return err
	}
	var add []*netListener
	if b.cfg.TCPAddr != "" {
		ln, err := net.Listen("tcp", b.cfg.TCPAddr)
		if err != nil {
			return fail(fmt.Errorf("broker: listen: %w", err))
		}
		opened = append(opened, ln)
		b.tcp = newNetListener(ListenerTCP, "tcp", ln, nil)
		add = append(add, b.tcp)
	}
	if b.cfg.TLSAddr != "" {
		ln, err := net.Listen("tcp", b.cfg.TLSAddr)
		if err != nil {
			return fail(fmt.Errorf("broker: listen TLS: %w", err))
		}
		opened = append(opened, ln)
		b.tlsl = newNetListener(ListenerTLS, "tcp", ln, b.tlsConf)
		add = append(add, b.tlsl)
	}
	add = append(add, newNetListener(ListenerMemory, MemoryNetwork, b.mem, nil))
	if b.memTLS != nil {
		add = append(add, newNetListener(ListenerMemoryTLS, MemoryNetwork, b.memTLS, b.tlsConf))
	}
	for _, l := range add {
		l.done = b.guard.connDone
		l.disconnect = disconnectListenerClients(b.srv)
		if err := b.srv.AddListener(l); err != nil {
			return fail(fmt.Errorf("broker: add listener %s: %w", l.id, err))
		}
	}
	if err := b.srv.Serve(); err != nil {
		return fail(fmt.Errorf("broker: serve: %w", err))
	}
	b.started = true
	return nil
}

// Addr returns the TCP listener's address (host:port with the real port),
// or "" if there is none or the broker is not started.
func (b *Broker) Addr() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.tcp == nil {
		return ""
	}
	return b.tcp.Address()
}

// TLSAddr returns the TLS listener's address, or "" if there is none or the
// broker is not started.
func (b *Broker) TLSAddr() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.tlsl == nil {
		return ""
	}
	return b.tlsl.Address()
}

// Close ends the Subscribe callbacks (waiting for calls in progress),
// disconnects every client, closes the listeners and waits (bounded) for the
// connection goroutines. It is idempotent and returns nil.
func (b *Broker) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	started := b.started
	b.mu.Unlock()
	b.closeSubs()
	_ = b.mem.Close()
	if b.memTLS != nil {
		_ = b.memTLS.Close()
	}
	if started {
		return b.srv.Close()
	}
	return nil
}

// Server returns the underlying mochi server, e.g. for its Info counters or
// hooks; Publish, Subscribe and Clients cover the usual needs without mochi's
// types. Do not call its Serve or Close.
func (b *Broker) Server() *mqtt.Server { return b.srv }

func (b *Broker) dialState() error { return b.state() }

// DialMemory returns a new in-memory connection to the broker speaking plain
// MQTT. It uses no file descriptor. The connection is buffered (a Write
// returns once its bytes are queued, up to 64 KiB per direction) and
// supports deadlines. Safe from any goroutine.
func (b *Broker) DialMemory(ctx context.Context) (net.Conn, error) {
	if err := b.dialState(); err != nil {
		return nil, err
	}
	return b.mem.dial(ctx)
}

// DialMemoryTLS returns a new in-memory connection whose broker end speaks
// TLS with the broker's TLS configuration; wrap it with tls.Client. It
// returns ErrNoTLS when the broker has no TLS configuration.
func (b *Broker) DialMemoryTLS(ctx context.Context) (net.Conn, error) {
	if b.memTLS == nil {
		return nil, ErrNoTLS
	}
	if err := b.dialState(); err != nil {
		return nil, err
	}
	return b.memTLS.dial(ctx)
}

// MemoryDialer returns a dial function (the shape of net.Dialer.DialContext
// and mqttcore.HostConfig.Dial) that ignores network and addr and returns
// DialMemory connections.
func (b *Broker) MemoryDialer() func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, _, _ string) (net.Conn, error) { return b.DialMemory(ctx) }
}

// MemoryTLSDialer is MemoryDialer for DialMemoryTLS: the caller does the
// client side of the TLS handshake over the returned connection.
func (b *Broker) MemoryTLSDialer() func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, _, _ string) (net.Conn, error) { return b.DialMemoryTLS(ctx) }
}
