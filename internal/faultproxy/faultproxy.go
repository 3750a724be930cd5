// Package faultproxy is an in-process TCP proxy for fault-injection tests: it sits between an
// MQTT client and a broker on 127.0.0.1 and, under the test's control at run time, delays
// traffic, blackholes it (stops forwarding both ways while keeping the sockets open, a
// half-open link), resets links (RST), forwards in 1-byte (or n-byte) segments, refuses new
// links, and cuts a link at a given MQTT packet type, before, in the middle of or after that
// packet.
//
// The proxy parses the MQTT fixed-header framing of each direction, so rules see whole
// packets. A packet announcing more than MaxFramed bytes switches its link to raw
// pass-through (rules no longer apply to it), so hostile streams cannot make the proxy
// allocate.
//
// All methods are safe from any goroutine.
package faultproxy

import (
	"errors"
	"io"
	"net"
	"sync"
	"time"

	"github.com/devicejs/devicejs/internal/mqttwire"
)

// MaxFramed is the largest packet (remaining length) the proxy buffers to apply rules to.
const MaxFramed = 4 << 20

// Direction is the way traffic flows through the proxy.
type Direction int

const (
	// ClientToBroker is traffic from the accepted (client) side to the target (broker).
	ClientToBroker Direction = iota
	// BrokerToClient is traffic from the target back to the client.
	BrokerToClient
)

// String returns "c->b" or "b->c".
func (d Direction) String() string {
	if d == ClientToBroker {
		return "c->b"
	}
	return "b->c"
}

// MQTT control packet types (MQTT 3.1.1 section 2.2.1).
const (
	CONNECT     byte = 1
	CONNACK     byte = 2
	PUBLISH     byte = 3
	PUBACK      byte = 4
	PUBREC      byte = 5
	PUBREL      byte = 6
	PUBCOMP     byte = 7
	SUBSCRIBE   byte = 8
	SUBACK      byte = 9
	UNSUBSCRIBE byte = 10
	UNSUBACK    byte = 11
	PINGREQ     byte = 12
	PINGRESP    byte = 13
	DISCONNECT  byte = 14
)

// TypeName returns the MQTT name of packet type t ("PUBLISH"), or "TYPE<n>".
func TypeName(t byte) string { return mqttwire.TypeName(t) }

// Cut says where a rule cuts the link relative to the matching packet.
type Cut int

const (
	// Before drops the packet and resets the link: the peer never sees it.
	Before Cut = iota
	// Mid forwards the fixed header and half of the rest, then resets the link.
	Mid
	// After forwards the whole packet, then resets the link.
	After
)

// String returns "before", "mid" or "after".
func (c Cut) String() string {
	return [...]string{"before", "mid", "after"}[c]
}

// Rule cuts a link when a packet of Type flows in Dir.
type Rule struct {
	Dir  Direction
	Type byte
	// Nth is which matching packet of a link triggers the cut (1 = the first; 0 means 1).
	Nth int
	Cut Cut
	// Times is how many links the rule cuts before it is spent (0 means 1).
	Times int
}

// Packet is a framed packet seen by the proxy, reported to the Watch function.
type Packet struct {
	Link int       // link number, from 1 in accept order
	Dir  Direction // which way it flowed
	Type byte      // packet type (Header >> 4)
	// Header is the first byte (type and flags: DUP is Header&0x08, QoS (Header>>1)&3).
	Header byte
	// Bytes is the whole packet (fixed header included); do not modify.
	Bytes []byte
	// Fate is what the proxy did: "forwarded", "dropped" (blackhole off-link) or a cut.
	Fate string
	At   time.Time
}

// Proxy is a running fault proxy. Create it with New; Close stops it.
type Proxy struct {
	ln net.Listener

	mu        sync.Mutex
	target    string
	delay     time.Duration
	segment   int
	blackhole bool
	gate      chan struct{} // closed when forwarding may proceed; replaced on blackhole
	refuse    bool
	raw       bool
	rules     []*ruleState
	watch     func(Packet)
	links     map[int]*link
	accepted  int
	closed    bool
	wg        sync.WaitGroup
}

type ruleState struct {
	Rule
	left int
}

// New starts a proxy listening on a free 127.0.0.1 port that forwards to target
// ("host:port").
func New(target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	gate := make(chan struct{})
	close(gate)
	p := &Proxy{ln: ln, target: target, gate: gate, links: map[int]*link{}}
	p.wg.Add(1)
	go p.acceptLoop()
	return p, nil
}

// Addr returns the proxy's listen address, "127.0.0.1:PORT".
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// SetTarget changes where new links are forwarded (existing links keep theirs).
func (p *Proxy) SetTarget(addr string) {
	p.mu.Lock()
	p.target = addr
	p.mu.Unlock()
}

// SetDelay delays every forwarded chunk by d (0 = none), in both directions, keeping order.
func (p *Proxy) SetDelay(d time.Duration) {
	p.mu.Lock()
	p.delay = d
	p.mu.Unlock()
}

// SetSegment forwards data in writes of at most n bytes (1 = one byte per write; 0 = off).
func (p *Proxy) SetSegment(n int) {
	p.mu.Lock()
	p.segment = n
	p.mu.Unlock()
}

// Blackhole stops (on) or resumes (off) forwarding in both directions on every link, new ones
// included, while keeping all sockets open: a half-open link. Data is held, not lost: the
// proxy stops reading, so it stays in the kernel's buffers and the sender's writes eventually
// block. Resuming forwards what was held.
func (p *Proxy) Blackhole(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if on == p.blackhole {
		return
	}
	p.blackhole = on
	if on {
		p.gate = make(chan struct{})
	} else {
		close(p.gate)
	}
}

// Refuse makes the proxy reset new links at once (on) or accept them again (off): a broker
// that refuses connections, countable through Accepted.
func (p *Proxy) Refuse(on bool) {
	p.mu.Lock()
	p.refuse = on
	p.mu.Unlock()
}

// SetRaw turns MQTT framing off (on) for links accepted from now on: bytes pass through as
// they come and rules and Watch do not apply. Needed for TLS links, whose bytes are not MQTT
// framing.
func (p *Proxy) SetRaw(on bool) {
	p.mu.Lock()
	p.raw = on
	p.mu.Unlock()
}

// AddRule adds a cut rule; it applies to links open now and later.
func (p *Proxy) AddRule(r Rule) {
	if r.Nth <= 0 {
		r.Nth = 1
	}
	if r.Times <= 0 {
		r.Times = 1
	}
	p.mu.Lock()
	p.rules = append(p.rules, &ruleState{Rule: r, left: r.Times})
	p.mu.Unlock()
}

// ClearRules removes every rule.
func (p *Proxy) ClearRules() {
	p.mu.Lock()
	p.rules = nil
	p.mu.Unlock()
}

// RulesLeft returns how many cuts the rules still have to make.
func (p *Proxy) RulesLeft() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, r := range p.rules {
		n += r.left
	}
	return n
}

// Watch sets f to be called (on proxy goroutines, must not block) for every framed packet.
// nil stops watching.
func (p *Proxy) Watch(f func(Packet)) {
	p.mu.Lock()
	p.watch = f
	p.mu.Unlock()
}

// Accepted returns how many links the proxy has accepted (refused ones included).
func (p *Proxy) Accepted() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.accepted
}

// Links returns the number of links currently open.
func (p *Proxy) Links() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.links)
}

// Reset resets every open link on both sides (RST, through SetLinger(0)).
func (p *Proxy) Reset() {
	for _, l := range p.snapshot() {
		l.kill()
	}
}

func (p *Proxy) snapshot() []*link {
	p.mu.Lock()
	defer p.mu.Unlock()
	ls := make([]*link, 0, len(p.links))
	for _, l := range p.links {
		ls = append(ls, l)
	}
	return ls
}

// Close stops listening, resets every link and waits for the proxy's goroutines.
func (p *Proxy) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	if p.blackhole {
		p.blackhole = false
		close(p.gate)
	}
	p.mu.Unlock()
	err := p.ln.Close()
	p.Reset()
	p.wg.Wait()
	return err
}

func (p *Proxy) acceptLoop() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		p.accepted++
		id := p.accepted
		refuse, target, closed, raw := p.refuse, p.target, p.closed, p.raw
		p.mu.Unlock()
		if refuse || closed {
			resetConn(c)
			continue
		}
		p.wg.Add(1)
		go p.serve(id, c, target, raw)
	}
}

// dialTimeout bounds the dial to the target.
const dialTimeout = 5 * time.Second

func (p *Proxy) serve(id int, client net.Conn, target string, raw bool) {
	defer p.wg.Done()
	broker, err := net.DialTimeout("tcp", target, dialTimeout)
	if err != nil {
		resetConn(client)
		return
	}
	l := &link{p: p, id: id, client: client, broker: broker, raw: raw, matched: map[*ruleState]int{}}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		l.kill()
		return
	}
	p.links[id] = l
	p.mu.Unlock()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); l.pump(ClientToBroker, client, broker) }()
	go func() { defer wg.Done(); l.pump(BrokerToClient, broker, client) }()
	wg.Wait()
	l.kill()
	p.mu.Lock()
	delete(p.links, id)
	p.mu.Unlock()
}

// resetConn closes c with an RST.
func resetConn(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
}

// link is one proxied client connection.
type link struct {
	p              *Proxy
	id             int
	client, broker net.Conn
	raw            bool // no MQTT framing

	mu      sync.Mutex
	matched map[*ruleState]int // matching packets seen per rule
	dead    bool
}

func (l *link) kill() {
	l.mu.Lock()
	l.dead = true
	l.mu.Unlock()
	resetConn(l.client)
	resetConn(l.broker)
}

// decide returns the cut to apply to a packet of type t flowing in d, if any.
func (l *link) decide(d Direction, t byte) (Cut, bool) {
	l.p.mu.Lock()
	defer l.p.mu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, r := range l.p.rules {
		if r.Dir != d || r.Type != t || r.left <= 0 {
			continue
		}
		l.matched[r]++
		if l.matched[r] == r.Nth {
			r.left--
			return r.Cut, true
		}
	}
	return 0, false
}

// pump forwards src to dst packet by packet in direction d until either side fails.
func (l *link) pump(d Direction, src, dst net.Conn) {
	defer func() {
		// A half-closed side ends the link (MQTT has no use for half-close).
		l.kill()
	}()
	f := framer{raw: l.raw}
	buf := make([]byte, 32<<10)
	for {
		if !l.waitGate() {
			return
		}
		n, err := src.Read(buf)
		if n > 0 {
			for _, ch := range f.feed(buf[:n]) {
				if !l.forward(d, dst, ch) {
					return
				}
			}
		}
		if err != nil {
			// A close or reset from this side is held like data while blackholed.
			l.waitGate()
			return
		}
	}
}

// waitGate blocks while the proxy is blackholed; false once the link is dead.
func (l *link) waitGate() bool {
	for {
		l.p.mu.Lock()
		gate := l.p.gate
		l.p.mu.Unlock()
		select {
		case <-gate:
			l.mu.Lock()
			dead := l.dead
			l.mu.Unlock()
			return !dead
		case <-time.After(50 * time.Millisecond):
			l.mu.Lock()
			dead := l.dead
			l.mu.Unlock()
			if dead {
				return false
			}
		}
	}
}

// forward applies rules, delay, segmentation and the blackhole to one chunk; false when the
// link is to end.
func (l *link) forward(d Direction, dst net.Conn, ch chunk) bool {
	data := ch.data
	fate := "forwarded"
	cut, doCut := Cut(0), false
	if ch.packet {
		cut, doCut = l.decide(d, ch.data[0]>>4)
		if doCut {
			fate = "cut " + cut.String()
			switch cut {
			case Before:
				data = nil
			case Mid:
				data = data[:ch.hdrLen+(len(data)-ch.hdrLen)/2]
			}
		}
	}
	l.p.mu.Lock()
	delay, seg, watch := l.p.delay, l.p.segment, l.p.watch
	l.p.mu.Unlock()
	if ch.packet && watch != nil {
		watch(Packet{Link: l.id, Dir: d, Type: ch.data[0] >> 4, Header: ch.data[0], Bytes: ch.data, Fate: fate, At: time.Now()})
	}
	if delay > 0 {
		time.Sleep(delay)
	}
	if !l.waitGate() {
		return false
	}
	if err := writeSegments(dst, data, seg); err != nil {
		return false
	}
	if doCut {
		l.kill()
		return false
	}
	return true
}

func writeSegments(w io.Writer, b []byte, seg int) error {
	if seg <= 0 {
		seg = len(b)
	}
	for len(b) > 0 {
		n := min(seg, len(b))
		if _, err := w.Write(b[:n]); err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}

// chunk is a piece of a stream: a whole packet (packet true) or raw bytes.
type chunk struct {
	data   []byte
	packet bool
	hdrLen int // fixed header length of a packet
}

// errMalformed marks a stream whose framing the proxy gave up on.
var errMalformed = errors.New("faultproxy: malformed remaining length")

// framer splits a byte stream into MQTT packets (fixed header: type byte, then a remaining
// length of 1-4 bytes, 7 bits each, least significant first).
type framer struct {
	buf  []byte
	raw  bool // gave up framing: pass everything through
	left int  // raw bytes still to pass through for an oversized packet
}

// feed adds b and returns the chunks now complete, in order.
func (f *framer) feed(b []byte) []chunk {
	var out []chunk
	if f.raw {
		return []chunk{{data: append([]byte(nil), b...)}}
	}
	if f.left > 0 {
		k := min(f.left, len(b))
		out = append(out, chunk{data: append([]byte(nil), b[:k]...)})
		f.left -= k
		b = b[k:]
	}
	f.buf = append(f.buf, b...)
	for len(f.buf) > 0 {
		rl, hl, err := remainingLength(f.buf)
		if err != nil {
			f.raw = true
			out = append(out, chunk{data: f.buf})
			f.buf = nil
			return out
		}
		if hl == 0 {
			break // header incomplete
		}
		if rl > MaxFramed {
			// Too large to buffer: pass it through raw, rules do not apply.
			k := min(len(f.buf), hl+rl)
			out = append(out, chunk{data: f.buf[:k:k]})
			f.left = hl + rl - k
			f.buf = append([]byte(nil), f.buf[k:]...)
			continue
		}
		if len(f.buf) < hl+rl {
			break
		}
		out = append(out, chunk{data: f.buf[: hl+rl : hl+rl], packet: true, hdrLen: hl})
		f.buf = append([]byte(nil), f.buf[hl+rl:]...)
	}
	return out
}

// remainingLength decodes the fixed header at the start of b (mqttwire.DecodeLength): the
// remaining length and the header length (0 if b does not hold the whole header yet).
func remainingLength(b []byte) (rl, hl int, err error) {
	rl, hl, err = mqttwire.DecodeLength(b)
	if err != nil {
		err = errMalformed
	}
	return rl, hl, err
}
