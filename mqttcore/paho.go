package mqttcore

import (
	"errors"
	"fmt"
	"net"
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
	// maxPingTimeout is how long paho waits for PINGRESP. A dead link is detected within
	// about keepalive + pingTimeout (plus paho's check interval, at most keepalive/4).
	maxPingTimeout = 10 * time.Second
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

// pingTimeout is paho's PINGRESP timeout for a wire keepalive k.
func pingTimeout(k time.Duration) time.Duration {
	if k > 0 && k < maxPingTimeout {
		return max(k, time.Second)
	}
	return maxPingTimeout
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
	o.SetKeepAlive(s.opts.WireKeepAlive())
	o.SetPingTimeout(pingTimeout(s.opts.WireKeepAlive()))
	o.SetWriteTimeout(writeTimeout)
	if s.opts.Username != nil {
		o.SetUsername(*s.opts.Username)
	}
	if s.opts.Password != nil {
		o.SetPassword(*s.opts.Password)
	}
	o.SetCustomOpenConnectionFn(a.open)
	o.SetConnectionLostHandler(func(paho.Client, error) { s.connectionLost(c) })
	o.SetDefaultPublishHandler(func(_ paho.Client, m paho.Message) { s.onMessage(c, m) })
	return o
}

var errPacketTooLarge = errors.New("mqttcore: broker announced a packet larger than the cap")

// guardConn wraps the connection handed to paho: it tracks the MQTT packet framing of the
// incoming stream and fails the read (closing the connection) when a packet announces a
// remaining length above max, and it records I/O failures for classification.
type guardConn struct {
	net.Conn
	a       *attempt
	max     int
	dead    atomic.Bool
	dupNext atomic.Bool // set DUP on the next outgoing QoS 1/2 PUBLISH

	raw  syscall.RawConn // non-blocking writes of direct publishes (direct.go); nil if unavailable
	wmu  sync.Mutex      // held for each whole packet written: paho's and direct ones
	wbuf []byte          // guarded by wmu: the direct publish being encoded

	// Read buffer (paho reads from one goroutine: CONNACK, then its reader). paho reads a
	// packet's fixed header one byte at a time, so without it every incoming packet costs
	// three or more read system calls. The buffer comes from readBufs and goes back when
	// drained, so an idle connection holds none.
	rbuf       *[]byte
	rpos, rend int
	rerr       error // the error that came with the buffered bytes, returned after them

	mu        sync.Mutex // paho reads from one goroutine; the lock keeps -race quiet anyway
	state     int        // 0: fixed header byte, 1: remaining length, 2: body
	lenVal    int
	lenMul    int
	lenBytes  int
	remaining int
}

func newGuardConn(c net.Conn, a *attempt, maxLen int) *guardConn {
	return &guardConn{Conn: c, a: a, max: maxLen, raw: rawConnOf(c)}
}

// fail records a failed write of a direct publish and closes the connection, so that paho's
// reader ends and the loss is reported as for any other socket failure.
func (g *guardConn) fail() {
	g.dead.Store(true)
	g.a.noteIOError()
	_ = g.Conn.Close()
}

func (g *guardConn) Read(p []byte) (int, error) {
	n, err := g.bufferedRead(p)
	if n > 0 {
		g.mu.Lock()
		perr := g.scan(p[:n])
		g.mu.Unlock()
		if perr != nil {
			g.dead.Store(true)
			_ = g.Conn.Close()
			return 0, perr
		}
	}
	if err != nil {
		g.dead.Store(true)
		g.a.noteIOError()
	}
	return n, err
}

// readBufSize is the size of the buffers of guardConn.bufferedRead.
const readBufSize = 4096

var readBufs = sync.Pool{New: func() any { b := make([]byte, readBufSize); return &b }}

// bufferedRead reads into p through the read buffer: buffered bytes first, then one read of
// the connection for as much as the buffer holds (reads of a buffer size or more go straight
// to the connection).
func (g *guardConn) bufferedRead(p []byte) (int, error) {
	if g.rbuf == nil {
		if err := g.rerr; err != nil {
			g.rerr = nil
			return 0, err
		}
		if len(p) >= readBufSize {
			return g.Conn.Read(p)
		}
		b := readBufs.Get().(*[]byte)
		n, err := g.Conn.Read(*b)
		if n == 0 {
			readBufs.Put(b)
			return 0, err
		}
		g.rbuf, g.rpos, g.rend, g.rerr = b, 0, n, err
	}
	n := copy(p, (*g.rbuf)[g.rpos:g.rend])
	g.rpos += n
	if g.rpos == g.rend {
		readBufs.Put(g.rbuf)
		g.rbuf = nil
	}
	return n, nil
}

// Write passes p on. paho writes every packet with one Write call, so p[0] is a fixed
// header; the device's dup flag is put on the PUBLISH it was given for (one publish is in
// flight at a time, and a clean-session client per connection never resends).
func (g *guardConn) Write(p []byte) (int, error) {
	if len(p) > 0 && p[0]>>4 == 3 && p[0]&0x06 != 0 && g.dupNext.CompareAndSwap(true, false) {
		q := make([]byte, len(p))
		copy(q, p)
		q[0] |= 0x08
		p = q
	}
	g.wmu.Lock()
	n, err := g.Conn.Write(p)
	g.wmu.Unlock()
	if err != nil {
		g.dead.Store(true)
		g.a.noteIOError()
	}
	return n, err
}

func (g *guardConn) Close() error {
	g.dead.Store(true)
	return g.Conn.Close()
}

// scan advances the framing state over b.
func (g *guardConn) scan(b []byte) error {
	for i := 0; i < len(b); {
		switch g.state {
		case 0:
			g.state, g.lenVal, g.lenMul, g.lenBytes = 1, 0, 1, 0
			i++
		case 1:
			c := b[i]
			i++
			g.lenVal += int(c&0x7f) * g.lenMul
			g.lenMul *= 128
			g.lenBytes++
			if g.lenVal > g.max {
				return fmt.Errorf("%w (%d > %d bytes)", errPacketTooLarge, g.lenVal, g.max)
			}
			if c&0x80 == 0 {
				g.remaining = g.lenVal
				g.state = 2
				if g.remaining == 0 {
					g.state = 0
				}
			} else if g.lenBytes >= 4 {
				return errors.New("mqttcore: malformed remaining length")
			}
		case 2:
			k := min(g.remaining, len(b)-i)
			i += k
			g.remaining -= k
			if g.remaining == 0 {
				g.state = 0
			}
		}
	}
	return nil
}
