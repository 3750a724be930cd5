package broker

import (
	"crypto/tls"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/mochi-mqtt/server/v2/listeners"
)

// closeWait bounds how long closing a listener waits for its connections'
// goroutines to return.
const closeWait = 10 * time.Second

// netListener adapts any net.Listener (TCP or memory), optionally wrapping
// accepted connections in TLS, to mochi's listeners.Listener. Unlike mochi's
// own TCP listener it tracks its connections: Close closes every one of them
// (including those that never sent CONNECT) and waits for their goroutines.
type netListener struct {
	id    string
	proto string
	ln    net.Listener
	tls   *tls.Config // nil: plain
	log   *slog.Logger
	done  func(net.Conn) // called after each connection's goroutine left mochi; may be nil
	// disconnect disconnects the listener's clients at Close instead of mochi's own
	// closeListenerClients (which deadlocks, see Close); nil uses mochi's.
	disconnect func(listenerID string)

	mu        sync.Mutex
	conns     map[net.Conn]struct{}
	closed    bool
	wg        sync.WaitGroup
	closeOnce sync.Once
}

var _ listeners.Listener = (*netListener)(nil)

func newNetListener(id, proto string, ln net.Listener, tc *tls.Config) *netListener {
	return &netListener{id: id, proto: proto, ln: ln, tls: tc, conns: map[net.Conn]struct{}{}, log: discardLogger()}
}

func (l *netListener) ID() string       { return l.id }
func (l *netListener) Address() string  { return l.ln.Addr().String() }
func (l *netListener) Protocol() string { return l.proto }

func (l *netListener) Init(log *slog.Logger) error {
	if log != nil {
		l.log = log
	}
	return nil
}

func (l *netListener) Serve(establish listeners.EstablishFn) {
	for {
		c, err := l.ln.Accept()
		if err != nil {
			return
		}
		if l.tls != nil {
			c = tls.Server(c, l.tls)
		}
		l.mu.Lock()
		if l.closed {
			l.mu.Unlock()
			_ = c.Close()
			return
		}
		l.conns[c] = struct{}{}
		l.wg.Add(1)
		l.mu.Unlock()
		go func() {
			defer l.wg.Done()
			defer func() {
				l.mu.Lock()
				delete(l.conns, c)
				l.mu.Unlock()
				_ = c.Close()
			}()
			if err := establish(l.id, c); err != nil {
				l.log.Debug("client ended", "listener", l.id, "remote", c.RemoteAddr().String(), "error", err)
			}
			if l.done != nil {
				l.done(c)
			}
		}()
	}
}

func (l *netListener) Close(closeClients listeners.CloseFn) {
	l.closeOnce.Do(func() {
		l.mu.Lock()
		l.closed = true
		l.mu.Unlock()
		_ = l.ln.Close()
		if l.disconnect != nil {
			// mochi 2.7.9's closeListenerClients read-locks its client table twice
			// (GetByListener calls Len): a client attaching at the same moment waits for the
			// write lock between the two, and both block forever (seen in CI: Close hung for
			// 8 minutes). disconnectListenerClients reads the table once.
			l.disconnect(l.id)
		} else {
			closeClients(l.id)
		}
		l.mu.Lock()
		for c := range l.conns {
			_ = c.Close()
		}
		l.mu.Unlock()
		done := make(chan struct{})
		go func() { l.wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(closeWait):
			l.log.Warn("listener close: connections still running", "listener", l.id)
		}
	})
}
