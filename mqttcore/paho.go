package mqttcore

import (
	"errors"
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// Wall-clock bounds of an open connection (the broker works in wall time).
const (
	// writeTimeout bounds every write to the socket, so a blackholed peer cannot block paho's
	// writer forever: the write fails and the connection is lost.
	writeTimeout = 10 * time.Second
	// minPacketCap and packetCapSlack size the incoming packet cap (see maxPacketLen).
	minPacketCap   = 1 << 20
	packetCapSlack = 1 << 10
)

// maxPacketLen is the largest MQTT remaining length accepted from the broker. paho allocates a
// packet's announced length before reading it, so a hostile broker announcing 256 MB could
// exhaust memory; a larger packet fails the connection instead. The cap (1 MiB) is far above
// any recvBuffSize, so oversized messages up to it are read and discarded normally.
func maxPacketLen(recvBuffSize int) int {
	return max(recvBuffSize+packetCapSlack, minPacketCap)
}

// pahoOptions are the paho client options for attempt a, whose connection will be c.
// One paho client is used per attempt: the device's policy, not paho's, reconnects.
func (s *Session) pahoOptions(a *attempt, c *connection) *paho.ClientOptions {
	o := paho.NewClientOptions()
	o.AddBroker("tcp://" + s.ep.Address()) // only a label: open dials
	o.SetClientID(s.clientID)
	o.SetProtocolVersion(uint(s.opts.ProtocolVersion)) // explicit: no silent 3.1.1 -> 3.1 retry
	o.SetCleanSession(true)
	o.SetAutoReconnect(false)
	o.SetConnectRetry(false)
	o.SetResumeSubs(false)
	o.SetOrderMatters(true) // handlers only post; PUBACK follows the handler
	o.SetConnectTimeout(connectTimeoutWall)
	// paho's keepalive runs on wall time: it gets 0 (no ping goroutine), the guard writes the
	// script's keepalive into the CONNECT and the session runs it on device time (keepalive.go).
	o.SetKeepAlive(0)
	o.SetWriteTimeout(writeTimeout)
	if s.opts.Username != nil {
		o.SetUsername(*s.opts.Username)
	}
	if s.opts.Password != nil {
		o.SetPassword(*s.opts.Password)
	}
	o.SetCustomOpenConnectionFn(func(u *url.URL, po paho.ClientOptions) (net.Conn, error) {
		conn, err := a.open(u, po)
		if g, ok := conn.(*guardConn); ok {
			g.in = c // PUBLISH packets are handled by the guard (guardread.go)
		}
		return conn, err
	})
	o.SetConnectionLostHandler(func(paho.Client, error) { s.connectionLost(c) })
	o.SetDefaultPublishHandler(func(_ paho.Client, m paho.Message) { s.onMessage(c, m) })
	return o
}

var errPacketTooLarge = errors.New("mqttcore: broker announced a packet larger than the cap")

// guardConn wraps the connection handed to paho: it reads the incoming stream packet by
// packet (guardread.go), failing the connection when a packet announces a remaining length
// above max and handling PUBLISH packets itself; it serializes writes (paho's and direct
// publishes, direct.go) and records I/O failures for classification.
type guardConn struct {
	net.Conn
	a       *attempt
	max     int
	dead    atomic.Bool // reading or writing failed, or the connection was closed
	closed  atomic.Bool // paho closed the connection (Close): its Disconnect or its loss handling
	dupNext atomic.Bool // set DUP on the next outgoing QoS 1/2 PUBLISH

	tr   *packetTracer // packet trace (packettrace.go); nil when packets are not traced
	ka   *keepAlive    // keepalive on device time (keepalive.go); nil with keepalive 0
	acks ackWatch      // written requests and the acknowledgement each expects (packetacks.go)

	raw  syscall.RawConn // non-blocking writes of direct publishes (direct.go); nil if unavailable
	wmu  sync.Mutex      // held for each whole packet written: paho's and direct ones
	wbuf []byte          // guarded by wmu: the direct publish being encoded

	// The send buffer of direct publishes (direct.go): packets accepted but not yet written,
	// flushed by a goroutine of the session or before any other write.
	omu      sync.Mutex
	obuf     []byte // guarded by omu
	flushing bool   // guarded by omu: a flush goroutine is running

	// Incoming stream (guardread.go); touched only by the goroutine paho reads on (the CONNACK
	// read, then its reader goroutine).
	in      *connection         // PUBLISH packets go to in.handlePublish; nil: all go to paho
	rbuf    *[]byte             // buffered bytes: (*rbuf)[rpos:rend]; nil when drained
	first   [firstReadSize]byte // a drained connection's next read lands here (fill)
	rpos    int
	rend    int
	rerr    error // the error that came with the buffered bytes, returned after them
	pass    int   // bytes of the current packet still to hand to paho
	readErr error // sticky: the stream failed (I/O error, oversized or malformed packet)
	connack bool  // the CONNACK was read (inboundcheck.go)
}

func newGuardConn(c net.Conn, a *attempt, maxLen int) *guardConn {
	return &guardConn{Conn: c, a: a, max: maxLen, raw: rawConnOf(c), tr: newPacketTracer(a.s),
		ka: newKeepAlive(a.s.opts.WireKeepAlive(), a.s.h.clock)}
}

// fail records a failed write of a direct publish and closes the connection, so that paho's
// reader ends and the loss is reported as for any other socket failure. The caller then
// declares the loss to the session (connFailed), which paho would only do later.
func (g *guardConn) fail() {
	g.dead.Store(true)
	g.a.noteIOError()
	_ = g.Conn.Close()
}

// errLinkFailed is what paho gets instead of "use of closed network connection" when the
// connection was closed by anything but paho (see pahoErr).
var errLinkFailed = errors.New("mqttcore: the connection failed")

// pahoErr reports a failed read or write of the connection (err != nil) to the session, which
// declares the open connection lost at once (connFailed), and translates err for paho. Called by
// Read and Write on the goroutine that saw the failure, before paho acts on it.
//
// paho takes "use of closed network connection" for the consequence of its own Disconnect and
// reports no loss for it: its reader and writer just stop. When something else closed the
// connection (the guard after a failed direct write, fail; a Go host's Dial or an in-memory
// route closing it under the device), that left the session connected to a dead socket until
// the next keepalive (forever with keepalive 0), with every publish failing 11 and no close.
// Such errors are replaced by errLinkFailed, which paho reports.
func (g *guardConn) pahoErr(err error) error {
	if err == nil {
		return nil
	}
	g.a.s.connFailed(g.a)
	if !g.closed.Load() &&
		(errors.Is(err, net.ErrClosed) || strings.Contains(err.Error(), "use of closed network connection")) {
		return errLinkFailed
	}
	return err
}

// Write passes p on. paho writes every packet with one Write call, so p[0] is a fixed
// header; the device's dup flag is put on the PUBLISH it was given for (one publish is in
// flight at a time, and a clean-session client per connection never resends).
func (g *guardConn) Write(p []byte) (int, error) {
	if len(p) > 0 && p[0] == 0x10 && g.ka != nil {
		p = setConnectKeepAlive(p, g.ka.k) // paho wrote 0: it runs no keepalive (keepalive.go)
	}
	if len(p) > 0 && p[0]>>4 == 3 && p[0]&0x06 != 0 && g.dupNext.CompareAndSwap(true, false) {
		q := make([]byte, len(p))
		copy(q, p)
		q[0] |= 0x08
		p = q
	}
	g.acks.wrote(p) // a request the broker must acknowledge (packetacks.go)
	g.wmu.Lock()
	err := g.writeLocked(p)
	g.wmu.Unlock()
	if err != nil {
		g.dead.Store(true)
		g.a.noteIOError()
		return 0, g.pahoErr(err)
	}
	return len(p), nil
}

// writeLocked writes the direct publishes still in the send buffer, then p (so the wire keeps
// the order in which packets were accepted). The buffer is handed over, not copied: an idle
// connection keeps none. The caller holds g.wmu.
func (g *guardConn) writeLocked(p []byte) error {
	g.omu.Lock()
	pending := g.obuf
	g.obuf = nil
	g.omu.Unlock()
	// Every write is bounded, paho's keepalive PINGREQ included (paho sets no deadline for
	// it): on a dead link with a full send buffer it would block forever, and paho's shutdown
	// waits for it, so the loss would never be reported.
	_ = g.Conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	for _, b := range [2][]byte{pending, p} {
		if len(b) == 0 {
			continue
		}
		if g.tr != nil {
			g.tr.stream(DirSend, b)
		}
		g.ka.sent() // before the write: once the broker has the bytes, the time is recorded
		if _, err := g.Conn.Write(b); err != nil {
			return err
		}
	}
	return nil
}

// SetWriteDeadline ignores paho's write deadlines: Write sets one for every write, and paho
// clearing its own after a publish could otherwise unbound a PINGREQ written meanwhile.
func (g *guardConn) SetWriteDeadline(time.Time) error { return nil }

// Close is paho's: after its Disconnect, or when it handles a loss it detected (keepalive).
func (g *guardConn) Close() error {
	g.closed.Store(true)
	g.dead.Store(true)
	return g.Conn.Close()
}
