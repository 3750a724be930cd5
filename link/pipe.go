package link

import (
	"math/rand/v2"
	"os"
	"sync"
	"time"
)

// segment is up to MSS bytes in flight, or the end of the stream (eof set, data empty).
type segment struct {
	data []byte
	eof  error
	due  time.Time // device time it may be delivered
}

// pipe is one direction of a connection: the segments in flight, delivered in order by run.
// For Down, delivered bytes wait in ready for the device's Read. All fields are guarded by mu.
type pipe struct {
	c   *conn
	dir Direction
	rng *rand.Rand

	mu   sync.Mutex
	cond *sync.Cond

	q       []segment
	qBytes  int // bytes in q
	sending int // Up: bytes taken from q and being written to the network

	lastDue time.Time // due time of the last segment pushed: order is kept
	txFree  time.Time // device time the sender finishes serializing what it has pushed

	ready []byte // Down: delivered, not yet read
	rerr  error  // Down: delivered end of stream, returned once ready is empty

	running   bool  // a run goroutine is delivering (started by push, ends when q is empty)
	dead      bool  // no more delivery; q dropped
	kerr      error // when dead: the error Read/Write return
	wclosed   bool  // Up: the device closed the connection; q is still delivered
	stopTimer func() bool

	deadline     time.Time   // device time: write deadline (Up) or read deadline (Down)
	stopDeadline func() bool // the deadline's timer on the link's clock; nil when none
}

func newPipe(c *conn, dir Direction) *pipe {
	p := &pipe{c: c, dir: dir}
	p.cond = sync.NewCond(&p.mu)
	p.rng = rand.New(rand.NewPCG(uint64(c.link.seed), c.id<<1|uint64(dir)))
	return p
}

// wake makes run and any waiter re-check the state.
func (p *pipe) wake() {
	p.mu.Lock()
	p.cond.Broadcast()
	p.mu.Unlock()
}

// buffered is what counts against BufferSize. Caller holds mu.
func (p *pipe) buffered() int { return p.qBytes + p.sending + len(p.ready) }

// schedule computes the delivery time of a segment of n bytes pushed now. Caller holds mu.
func (p *pipe) schedule(n int) (due time.Time, losses int, delay time.Duration) {
	cond := p.c.link.Conditions().clamped()
	now := p.c.link.clock.Now()
	sent := now
	if cond.Bandwidth > 0 {
		if p.txFree.After(sent) {
			sent = p.txFree
		}
		sent = sent.Add(time.Duration(float64(n) * float64(time.Second) / float64(cond.Bandwidth)))
		p.txFree = sent
	}
	d := cond.Latency
	if cond.Jitter > 0 {
		d += time.Duration(p.rng.Int64N(2*int64(cond.Jitter)+1)) - cond.Jitter
		d = max(d, 0)
	}
	if cond.Loss > 0 {
		rto := cond.RTO()
		for losses < MaxRetransmits && p.rng.Float64() < cond.Loss {
			d += rto
			rto = min(2*rto, MaxRTO)
			losses++
		}
	}
	due = sent.Add(d)
	if due.Before(p.lastDue) {
		due = p.lastDue
	}
	p.lastDue = due
	return due, losses, due.Sub(now)
}

// push queues data (at most MSS bytes, owned by the pipe) or the end of the stream. Caller
// holds mu.
func (p *pipe) push(data []byte, eof error) {
	due, losses, delay := p.schedule(len(data))
	p.q = append(p.q, segment{data: data, eof: eof, due: due})
	p.qBytes += len(data)
	p.c.link.inflight.Add(int64(len(data)))
	if eof == nil {
		p.c.link.account(p.dir, len(data), losses, delay)
	}
	if !p.running {
		p.running = true
		go p.run()
	}
	p.cond.Broadcast()
}

// pushAll queues b in segments, waiting for room in the buffer. It returns how much it queued
// and the error that stopped it (the pipe's kill error, net.ErrClosed after Close, or
// os.ErrDeadlineExceeded).
func (p *pipe) pushAll(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for {
		if err := p.writeErr(); err != nil {
			return n, err
		}
		if len(b) == 0 {
			return n, nil
		}
		room := BufferSize - p.buffered()
		if room <= 0 {
			p.cond.Wait()
			continue
		}
		k := min(len(b), MSS, room)
		p.push(append([]byte(nil), b[:k]...), nil)
		b, n = b[k:], n+k
	}
}

// pushEOF queues the end of the stream (err is io.EOF or the network's read error).
func (p *pipe) pushEOF(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.dead {
		p.push(nil, err)
	}
}

// writeErr is why a push must stop, or nil. Caller holds mu. The deadline is the device's
// write deadline on Up; on Down it is the read deadline, which must not stop the network side.
func (p *pipe) writeErr() error {
	switch {
	case p.dead:
		return p.kerr
	case p.wclosed:
		return errClosed
	case p.dir == Up && p.deadlinePassed():
		return os.ErrDeadlineExceeded
	}
	return nil
}

func (p *pipe) deadlinePassed() bool {
	return !p.deadline.IsZero() && !p.c.link.deadlines.Now().Before(p.deadline)
}

// read is the device's Read on a Down pipe.
func (p *pipe) read(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for {
		switch {
		case p.dead:
			return 0, p.kerr
		case p.deadlinePassed(): // as on a socket: a passed deadline fails even with data ready
			return 0, os.ErrDeadlineExceeded
		case len(p.ready) > 0:
			n := copy(b, p.ready)
			p.ready = p.ready[n:]
			if len(p.ready) == 0 {
				p.ready = nil
			}
			p.cond.Broadcast() // room for the network side
			return n, nil
		case p.rerr != nil:
			return 0, p.rerr
		case len(b) == 0:
			return 0, nil
		}
		p.cond.Wait()
	}
}

// setDeadline sets the deadline of the device's Read (Down) or Write (Up). t is a wall time, as
// net.Conn's callers compute it (time.Now().Add(d)): the link keeps what is left of it, d, on
// its own clock, so under a device clock a deadline passes after d of device time (under the
// wall clock the two are the same).
func (p *pipe) setDeadline(t time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.deadline = time.Time{}
	p.clearDeadlineTimer()
	if !t.IsZero() {
		d := time.Until(t)
		p.deadline = p.c.link.deadlines.Now().Add(d)
		if !p.dead {
			p.stopDeadline = p.c.link.deadlines.AfterFunc(d, p.wake)
		}
	}
	p.cond.Broadcast()
}

// clearDeadlineTimer stops the deadline's timer. Caller holds mu.
func (p *pipe) clearDeadlineTimer() {
	if p.stopDeadline != nil {
		p.stopDeadline()
		p.stopDeadline = nil
	}
}

// kill stops the pipe: held and unread bytes are dropped, Read and Write return err.
func (p *pipe) kill(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.dead {
		return
	}
	p.dead, p.kerr = true, err
	p.c.link.inflight.Add(-int64(p.qBytes))
	p.q, p.qBytes, p.ready = nil, 0, nil
	p.disarm()
	p.clearDeadlineTimer()
	p.cond.Broadcast()
}

// closeWrite marks an Up pipe closed by the device: writes fail, held bytes still go out,
// then the connection finishes (at once when nothing is held).
func (p *pipe) closeWrite() {
	p.mu.Lock()
	p.wclosed = true
	idle := !p.running
	p.cond.Broadcast()
	p.mu.Unlock()
	if idle {
		p.c.finishUnlessBlackholed()
	}
}

// arm wakes run after device duration d. Caller holds mu.
func (p *pipe) arm(d time.Duration) {
	p.disarm()
	p.stopTimer = p.c.link.clock.AfterFunc(d, p.wake)
}

// disarm stops the pending wake-up. Caller holds mu.
func (p *pipe) disarm() {
	if p.stopTimer != nil {
		p.stopTimer()
		p.stopTimer = nil
	}
}

// run delivers segments when they are due, in order, until nothing is held or the pipe dies
// (push starts it again). For Up, after the device's Close it delivers what is held and then
// finishes the connection.
func (p *pipe) run() {
	p.mu.Lock()
	for {
		if p.dead {
			p.running = false
			p.mu.Unlock()
			return
		}
		if len(p.q) == 0 {
			p.running = false
			closed := p.wclosed
			p.mu.Unlock()
			if closed {
				p.c.finishUnlessBlackholed()
			}
			return
		}
		until, blackhole := p.c.link.hold()
		if blackhole {
			p.disarm()
			p.cond.Wait()
			continue
		}
		now := p.c.link.clock.Now()
		due := p.q[0].due
		if until.After(due) {
			due = until
		}
		if now.Before(due) {
			p.arm(due.Sub(now))
			p.cond.Wait()
			continue
		}
		p.disarm()
		var eof error
		k, size := 0, 0
		for k < len(p.q) && !p.q[k].due.After(now) && eof == nil {
			size += len(p.q[k].data)
			eof = p.q[k].eof
			k++
		}
		batch := p.q[0].data
		if k > 1 {
			batch = make([]byte, 0, size)
			for _, sg := range p.q[:k] {
				batch = append(batch, sg.data...)
			}
		}
		clear(p.q[:k]) // release the segments' bytes
		p.q = p.q[k:]
		if len(p.q) == 0 {
			p.q = nil
		}
		p.qBytes -= len(batch)
		if p.dir == Down {
			p.c.link.inflight.Add(-int64(len(batch)))
			p.ready = append(p.ready, batch...)
			if eof != nil {
				p.rerr = eof
			}
			p.cond.Broadcast()
			continue
		}
		p.sending = len(batch)
		p.cond.Broadcast()
		p.mu.Unlock()
		_, err := p.c.under.Write(batch)
		p.mu.Lock()
		p.sending = 0
		p.c.link.inflight.Add(-int64(len(batch)))
		p.cond.Broadcast()
		if err != nil && !p.dead {
			p.mu.Unlock()
			p.c.fail(err)
			p.mu.Lock()
		}
	}
}
