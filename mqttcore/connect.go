package mqttcore

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"sync"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// attempt is one connection attempt: one TCP connection, optional TLS, CONNECT/CONNACK.
// It is bounded by connectTimeout (device time) and aborted by End.
type attempt struct {
	s      *Session
	ctx    context.Context
	cancel context.CancelFunc

	mu       sync.Mutex
	raw      net.Conn // the dialled connection, once there is one
	finished bool     // the outcome is being processed; timeout/abort no longer count
	timedOut bool
	aborted  bool
	errno    Errno // set by open on a dial or TLS failure
	tlsUp    bool  // a TLS handshake completed on this attempt
	ioFails  bool  // reading or writing failed before the outcome (CONNECT/CONNACK)
	guard    *guardConn
}

// guardConn returns the attempt's connection wrapper, or nil.
func (a *attempt) guardConn() *guardConn {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.guard
}

// socketFailed reports whether the attempt's connection has seen an I/O error or was closed.
func (a *attempt) socketFailed() bool {
	a.mu.Lock()
	g := a.guard
	a.mu.Unlock()
	return g != nil && g.dead.Load()
}

// abort cancels the attempt (End): the dial is cancelled and the connection closed, so the
// paho Connect in progress returns promptly.
func (a *attempt) abort() {
	a.mu.Lock()
	a.aborted = true
	raw := a.raw
	a.mu.Unlock()
	a.cancel()
	if raw != nil {
		_ = raw.Close()
	}
}

// timeout is the connectTimeout timer: the same as abort, remembered as a timeout (errno 6).
func (a *attempt) timeout() {
	a.mu.Lock()
	if a.finished {
		a.mu.Unlock()
		return
	}
	a.timedOut = true
	raw := a.raw
	a.mu.Unlock()
	a.cancel()
	if raw != nil {
		_ = raw.Close()
	}
}

// setRaw records the dialled connection; false if the attempt was already cancelled.
func (a *attempt) setRaw(c net.Conn) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.aborted || a.timedOut {
		return false
	}
	a.raw = c
	return true
}

func (a *attempt) fail(e Errno) {
	a.mu.Lock()
	if a.errno == 0 {
		a.errno = e
	}
	a.mu.Unlock()
}

// noteIOError is called by the guard conn on a read or write error.
func (a *attempt) noteIOError() {
	a.mu.Lock()
	if !a.finished {
		a.ioFails = true
	}
	a.mu.Unlock()
}

// open is paho's CustomOpenConnectionFn: dial through HostConfig.Dial, then TLS done by us
// with ServerName = the script's hostname, so that failures can be classified.
func (a *attempt) open(_ *url.URL, _ paho.ClientOptions) (net.Conn, error) {
	s := a.s
	raw, err := s.h.dial(a.ctx, "tcp", s.ep.Address())
	if err != nil {
		a.fail(ErrnoConnectionFailed)
		return nil, err
	}
	if !a.setRaw(raw) {
		_ = raw.Close()
		a.fail(ErrnoConnectionFailed)
		return nil, context.Canceled
	}
	var conn net.Conn = raw
	if s.ep.TLS {
		cfg, err := s.tls.Config(s.ep.Host)
		if err != nil {
			_ = raw.Close()
			a.fail(ErrnoTLS)
			return nil, err
		}
		tc := tls.Client(raw, cfg)
		if err := tc.HandshakeContext(a.ctx); err != nil {
			_ = raw.Close()
			// Any handshake failure on an established TCP connection is a TLS error (7),
			// including a peer that closes during the handshake (e.g. a plain MQTT port);
			// only connectTimeout and End count as 6.
			if a.ctx.Err() != nil {
				a.fail(ErrnoConnectionFailed)
			} else {
				a.fail(ErrnoTLS)
			}
			return nil, err
		}
		a.mu.Lock()
		a.tlsUp = true
		a.mu.Unlock()
		conn = tc
	}
	g := newGuardConn(conn, a, maxPacketLen(s.opts.RecvBuffSize))
	a.mu.Lock()
	a.guard = g
	a.mu.Unlock()
	return g, nil
}

// classify turns a failed attempt into errnoConnect. rc is paho's CONNACK return code.
func (a *attempt) classify(rc byte, err error) Errno {
	a.mu.Lock()
	defer a.mu.Unlock()
	switch {
	case rc >= 1 && rc <= 5:
		return Errno(rc)
	case a.timedOut:
		return ErrnoConnectionFailed
	case a.errno != 0:
		return a.errno
	case a.tlsUp && a.ioFails:
		// A TLS broker that refuses the client certificate does so, with TLS 1.3, after the
		// client's handshake has completed: the alert (or a reset) arrives on the CONNECT
		// write or the CONNACK read.
		return ErrnoTLS
	case IsTLSError(err):
		return ErrnoTLS
	}
	return ErrnoConnectionFailed
}

// startAttemptLocked starts a connection attempt in the background.
func (s *Session) startAttemptLocked() {
	if s.state != stReconnecting {
		s.state = stConnecting
	}
	ctx, cancel := context.WithCancel(context.Background())
	a := &attempt{s: s, ctx: ctx, cancel: cancel}
	s.att = a
	s.trace(TraceEvent{Kind: TraceConnectAttempt})
	s.wg.Add(1)
	go s.runAttempt(a)
}

// runAttempt performs attempt a and feeds its outcome to the state machine.
func (s *Session) runAttempt(a *attempt) {
	defer s.wg.Done()
	defer a.cancel()
	c := &connection{s: s, att: a, lost: make(chan struct{}), issued: closedChan, ended: closedChan}
	stop := func() bool { return false }
	if s.opts.ConnectTimeout > 0 {
		stop = s.h.clock.AfterFunc(s.opts.ConnectTimeout, a.timeout)
	}
	cl := paho.NewClient(s.pahoOptions(a, c))
	c.client = cl
	tok := cl.Connect()
	<-tok.Done() // bounded: dial and handshake honour a.ctx, the CONNACK read the closed conn
	stop()
	ct, _ := tok.(*paho.ConnectToken)
	err := tok.Error()

	a.mu.Lock()
	a.finished = true
	bad := a.timedOut || a.aborted
	timedOut, connected := a.timedOut, a.guard != nil
	a.mu.Unlock()

	s.mu.Lock()
	if s.att != a { // ended
		s.mu.Unlock()
		if err == nil {
			cl.Disconnect(disconnectQuiesceMs)
		}
		return
	}
	s.att = nil
	if err == nil && bad { // paho connected just as the attempt was cancelled
		err = errors.New("mqttcore: connection attempt aborted")
		s.disconnectAsync(c)
	}
	if timedOut {
		// paho reports the closed socket ("use of closed network connection"); say why. Only
		// after the checks above, which must see whether paho's connection is up to close it.
		err = &ConnectTimeoutError{Timeout: s.opts.ConnectTimeout, Connected: connected}
	}
	if err != nil {
		var rc byte
		if ct != nil {
			rc = ct.ReturnCode()
		}
		errno := a.classify(rc, err)
		s.trace(TraceEvent{Kind: TraceConnectFailed, ReturnCode: rc, Errno: errno, Err: err.Error(), Cause: err})
		s.attemptFailedLocked(errno, err)
		s.mu.Unlock()
		return
	}
	s.trace(TraceEvent{Kind: TraceConnack})
	s.connectedLocked(c, ct.SessionPresent())
	s.mu.Unlock()
}

// ConnectTimeoutError is the failure of a connection attempt on which connectTimeout (device
// time) expired (errnoConnect 6). Connected tells whether the TCP (and TLS) connection was up
// and CONNECT sent: then the CONNACK did not come in time.
type ConnectTimeoutError struct {
	Timeout   time.Duration
	Connected bool
}

// Error implements error, e.g. "CONNACK not received within connectTimeout (5000 ms)".
func (e *ConnectTimeoutError) Error() string {
	if e.Connected {
		return fmt.Sprintf("CONNACK not received within connectTimeout (%d ms)", e.Timeout.Milliseconds())
	}
	return fmt.Sprintf("TCP/TLS connection not established within connectTimeout (%d ms)", e.Timeout.Milliseconds())
}

// attemptFailedLocked applies the reconnect policy after a failed attempt: retry after
// reconnectPeriod while automatic attempts are left, else an Error event. cause is the attempt's
// failure (TraceEvent.Cause).
func (s *Session) attemptFailedLocked(e Errno, cause error) {
	s.errno = e
	if s.autoLeft != 0 {
		if s.autoLeft > 0 {
			s.autoLeft--
		}
		s.scheduleLocked()
		return
	}
	s.state = stIdle
	s.trace(TraceEvent{Kind: TraceError, Code: ConnectionFailed, Errno: e, Cause: cause})
	ev := s.ev.Error
	if ev != nil {
		s.post(func() { ev(ConnectionFailed) })
	}
}

// connectedLocked makes c the open connection and emits Connect.
func (s *Session) connectedLocked(c *connection, sessionPresent bool) {
	s.state = stConnected
	s.errno = ErrnoOK
	s.conn = c
	s.subs = nil
	s.autoLeft = s.autoBudget()
	if ev := s.ev.Connect; ev != nil {
		ck := Connack{SessionPresent: sessionPresent}
		s.post(func() { ev(ck) })
	}
	s.startKeepAliveLocked(c)
	c.mu.Lock()
	c.established = true
	lostEarly := c.lostEarly
	c.mu.Unlock()
	if lostEarly {
		s.lostLocked(c)
	}
}

// connectionLost is paho's OnConnectionLost for connection c.
func (s *Session) connectionLost(c *connection) {
	c.mu.Lock()
	if !c.established {
		c.lostEarly = true
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lostLocked(c)
}

// lostLocked handles the loss of the open connection c: operations fail, Close, and an
// automatic reconnection when reconnectCount allows it.
func (s *Session) lostLocked(c *connection) {
	if s.conn != c || s.state != stConnected {
		return
	}
	s.dropConnLocked(c)
	s.trace(TraceEvent{Kind: TraceClose, Err: c.closeErr})
	s.post(s.ev.Close)
	s.autoLeft = s.autoBudget()
	if s.autoLeft == 0 {
		s.state = stIdle
		return
	}
	if s.autoLeft > 0 {
		s.autoLeft--
	}
	s.scheduleLocked()
}

// dropConnLocked forgets the open connection c: its operations in flight complete with
// Disconnected (in issue order) and its subscriptions are gone. The caller sets the state.
func (s *Session) dropConnLocked(c *connection) {
	// Messages held for an earlier acknowledgement's completion arrived before the loss.
	c.pahoDone = c.acksToPaho
	s.flushHeldLocked(c)
	c.mu.Lock()
	c.dropped = true
	c.mu.Unlock()
	s.stopKeepAliveLocked(c)
	close(c.lost)
	s.conn = nil
	ops := s.ops
	s.ops = nil
	for _, o := range ops {
		switch {
		case o == c.violated:
			s.completeLocked(o, o.kind.failCode()) // the broker broke the protocol (packetacks.go)
		case !o.fin && o.acknowledgedLocked():
			// Acknowledged before the loss (e.g. a SUBACK read just before the packet that
			// broke the protocol): the broker's answer, in issue order, not Disconnected.
			code := grantedCode(o, o.tok)
			if code == OK && o.kind == opPublish {
				s.stats.Published++
			}
			s.completeLocked(o, code)
		default:
			s.completeLocked(o, Disconnected)
		}
	}
	s.pub = nil
	s.subs = nil
}

var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()
