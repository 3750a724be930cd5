package link

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/devicejs/devicejs/internal/testbroker"
	"github.com/devicejs/devicejs/runtime"
)

// slack is the generous upper margin for a delay measured on this loaded machine.
const slack = 2 * time.Second

func TestLatencyOnTheWire(t *testing.T) {
	for _, latency := range []time.Duration{30 * time.Millisecond, 150 * time.Millisecond} {
		t.Run(latency.String(), func(t *testing.T) {
			l := New(Conditions{Latency: latency}, nil, 1)
			device, peer := pair(t, l)
			go func() { _, _ = io.Copy(peer, peer) }() // the peer echoes
			for i := 0; i < 3; i++ {
				start := time.Now()
				if _, err := device.Write([]byte("ping")); err != nil {
					t.Fatal(err)
				}
				if got := readFull(t, device, 4); string(got) != "ping" {
					t.Fatalf("echo = %q", got)
				}
				rtt := time.Since(start)
				if rtt < 2*latency || rtt > 2*latency+slack {
					t.Fatalf("round trip %v, want >= %v (2 x latency) and <= %v", rtt, 2*latency, 2*latency+slack)
				}
			}
			s := l.Stats()
			if s.Up.Segments != 3 || s.Down.Segments != 3 || s.Up.Bytes != 12 || s.Down.Bytes != 12 {
				t.Fatalf("stats %+v, want 3 segments of 4 bytes each way", s)
			}
		})
	}
}

func TestOneWayLatencyEachDirection(t *testing.T) {
	const latency = 100 * time.Millisecond
	l := New(Conditions{Latency: latency}, nil, 1)
	device, peer := pair(t, l)
	tt := []struct {
		name     string
		from, to net.Conn
	}{{"up", device, peer}, {"down", peer, device}}
	for _, tc := range tt {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			if _, err := tc.from.Write([]byte("x")); err != nil {
				t.Fatal(err)
			}
			readFull(t, tc.to, 1)
			if d := time.Since(start); d < latency || d > latency+slack {
				t.Fatalf("one way %v, want >= %v", d, latency)
			}
		})
	}
}

func TestJitterKeepsOrder(t *testing.T) {
	l := New(Conditions{Latency: 20 * time.Millisecond, Jitter: 20 * time.Millisecond}, nil, 7)
	device, peer := pair(t, l)
	const n = 300
	go func() {
		for i := uint32(0); i < n; i++ {
			var b [4]byte
			binary.BigEndian.PutUint32(b[:], i)
			if _, err := device.Write(b[:]); err != nil {
				return
			}
		}
	}()
	got := readFull(t, peer, 4*n)
	for i := uint32(0); i < n; i++ {
		if v := binary.BigEndian.Uint32(got[4*i:]); v != i {
			t.Fatalf("segment %d carries %d: order not kept", i, v)
		}
	}
	s := l.Stats().Up
	if s.MaxDelay > 40*time.Millisecond+slack || s.Segments != n {
		t.Fatalf("stats %+v", s)
	}
}

func TestBandwidthOnTheWire(t *testing.T) {
	const rate = 200_000 // bytes per second
	const total = 150_000
	l := New(Conditions{Bandwidth: rate}, nil, 1)
	device, peer := pair(t, l)
	start := time.Now()
	go func() { _, _ = device.Write(make([]byte, total)) }()
	readFull(t, peer, total)
	elapsed := time.Since(start)
	measured := float64(total) / elapsed.Seconds()
	t.Logf("%d bytes in %v: %.0f B/s (link %d B/s)", total, elapsed, measured, rate)
	if measured > rate*1.05 {
		t.Fatalf("measured %.0f B/s, faster than the link's %d B/s", measured, rate)
	}
	if measured < rate*0.3 {
		t.Fatalf("measured %.0f B/s, far below the link's %d B/s", measured, rate)
	}
	if s := l.Stats().Up; s.Segments != (total+MSS-1)/MSS {
		t.Fatalf("segments %d, want %d", s.Segments, (total+MSS-1)/MSS)
	}
}

// TestLossOnTheWire sends segments one at a time under 10% loss on a 5x device clock and
// measures each one's delay at the peer: the segments delayed by at least half an RTO are the
// lost ones, as many as the link reports, at about the configured rate.
func TestLossOnTheWire(t *testing.T) {
	clock := scaledClock{scale: 5, start: time.Now()}
	const loss, n = 0.10, 300
	l := New(Conditions{Loss: loss}, clock, 42)
	device, peer := pair(t, l)
	rto := l.Conditions().RTO()
	delayed := 0
	msg := bytes.Repeat([]byte("s"), 100)
	for i := 0; i < n; i++ {
		start := clock.Now()
		if _, err := device.Write(msg); err != nil {
			t.Fatal(err)
		}
		readFull(t, peer, len(msg))
		if clock.Now().Sub(start) >= rto/2 {
			delayed++
		}
	}
	s := l.Stats().Up
	t.Logf("%d of %d segments delayed by a retransmission; link reports %d lost (%d losses)", delayed, n, s.LostSegments, s.Losses)
	if d := delayed - int(s.LostSegments); d < -2 || d > 2 {
		t.Fatalf("%d segments delayed on the wire, the link lost %d", delayed, s.LostSegments)
	}
	// 300 segments at 10%: mean 30, sd 5.2; accept mean +- 3.5 sd.
	if s.LostSegments < 12 || s.LostSegments > 48 {
		t.Fatalf("lost %d of %d segments at %v loss", s.LostSegments, n, loss)
	}
}

// TestLossRateAndSeed checks the schedule alone (a frozen clock delivers nothing): the loss
// rate over many segments, the doubling of the retransmission timeout, and that a seed
// repeats its losses exactly.
func TestLossRateAndSeed(t *testing.T) {
	run := func(seed int64, loss float64) Stats {
		l := New(Conditions{Loss: loss}, frozenClock{now: time.Unix(0, 0)}, seed)
		w := l.WrapConn(newNopConn())
		defer l.Cut()             // a Close would linger: the frozen clock never delivers
		for i := 0; i < 40; i++ { // 40 x 1460 bytes stays under BufferSize
			if _, err := w.Write(make([]byte, MSS)); err != nil {
				t.Fatal(err)
			}
		}
		return l.Stats()
	}
	total := Stats{}
	for seed := int64(0); seed < 100; seed++ {
		a, b := run(seed, 0.2), run(seed, 0.2)
		if a != b {
			t.Fatalf("seed %d: %+v then %+v", seed, a, b)
		}
		total.Up.Segments += a.Up.Segments
		total.Up.LostSegments += a.Up.LostSegments
		total.Up.Losses += a.Up.Losses
	}
	t.Logf("%d of %d segments lost at 20%% (%d losses)", total.Up.LostSegments, total.Up.Segments, total.Up.Losses)
	// 4000 segments at 20%: mean 800 lost, sd 25; accept +- 4 sd.
	if total.Up.LostSegments < 700 || total.Up.LostSegments > 900 {
		t.Fatalf("%d of %d segments lost at 20%%", total.Up.LostSegments, total.Up.Segments)
	}
	// A lost segment is lost again with probability 0.2: losses/lost ~ 1/(1-0.2) = 1.25.
	if r := float64(total.Up.Losses) / float64(total.Up.LostSegments); r < 1.15 || r > 1.35 {
		t.Fatalf("losses per lost segment %.2f, want about 1.25", r)
	}
	if run(1, 0.2) == run(2, 0.2) {
		t.Fatal("seeds 1 and 2 gave the same losses")
	}
}

func TestRetransmissionTimeoutDoubles(t *testing.T) {
	// Loss just under 1: every segment is lost MaxRetransmits times.
	l := New(Conditions{Loss: 0.999999, Latency: 10 * time.Millisecond}, frozenClock{now: time.Unix(0, 0)}, 3)
	w := l.WrapConn(newNopConn())
	defer l.Cut()
	if _, err := w.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	var want time.Duration = 10 * time.Millisecond
	rto := MinRTO
	for i := 0; i < MaxRetransmits; i++ {
		want += rto
		rto = min(2*rto, MaxRTO)
	}
	if s := l.Stats().Up; s.Losses != MaxRetransmits || s.Delay != want {
		t.Fatalf("stats %+v, want %d losses and %v delay", s, MaxRetransmits, want)
	}
}

func TestOutageHoldsDelivery(t *testing.T) {
	const outage = 300 * time.Millisecond
	l := New(Conditions{}, nil, 1)
	device, peer := pair(t, l)
	start := time.Now()
	l.Outage(outage)
	for _, tc := range []struct {
		name     string
		from, to net.Conn
	}{{"up", device, peer}, {"down", peer, device}} {
		if _, err := tc.from.Write([]byte(tc.name)); err != nil {
			t.Fatal(err)
		}
		readFull(t, tc.to, len(tc.name))
		if d := time.Since(start); d < outage || d > outage+slack {
			t.Fatalf("%s delivered after %v, want >= %v", tc.name, d, outage)
		}
	}
	// The connection survived; after the outage bytes pass at once.
	if _, err := device.Write([]byte("after")); err != nil {
		t.Fatal(err)
	}
	readFull(t, peer, 5)
}

func TestOutageUnderManualClock(t *testing.T) {
	clock := runtime.NewManualClock(time.Unix(1_800_000_000, 0))
	l := New(Conditions{Latency: 50 * time.Millisecond}, clock, 1)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	raw, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	peer, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	device := l.WrapConn(raw)
	defer device.Close()
	l.Outage(time.Second)
	if _, err := device.Write([]byte("held")); err != nil {
		t.Fatal(err)
	}
	if l.Idle() {
		t.Fatal("Idle with 4 bytes held")
	}
	clock.Advance(999 * time.Millisecond) // latency passed, outage not
	_ = peer.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if n, err := peer.Read(make([]byte, 4)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read during the outage: %d bytes, %v", n, err)
	}
	clock.Advance(time.Millisecond)
	if got := readFull(t, peer, 4); string(got) != "held" {
		t.Fatalf("got %q", got)
	}
	testbroker.WaitFor(t, wait, "Idle after delivery", l.Idle)
}

func TestBlackholeHoldsAndBoundsTheWriter(t *testing.T) {
	l := New(Conditions{}, nil, 1)
	device, peer := pair(t, l)
	l.Blackhole(true)
	// The writer fills the send buffer, then blocks until its write deadline.
	_ = device.SetWriteDeadline(time.Now().Add(300 * time.Millisecond))
	n, err := device.Write(make([]byte, 2*BufferSize))
	if !errors.Is(err, os.ErrDeadlineExceeded) || n != BufferSize {
		t.Fatalf("write under blackhole: %d bytes, %v; want %d bytes then the deadline", n, err, BufferSize)
	}
	// Nothing passes the other way either, and nothing closes.
	if _, err := peer.Write([]byte("down")); err != nil {
		t.Fatal(err)
	}
	_ = peer.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if n, err := peer.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("peer read under blackhole: %d bytes, %v", n, err)
	}
	_ = device.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if n, err := device.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("device read under blackhole: %d bytes, %v", n, err)
	}
	if h := l.Held(); h != BufferSize+4 || l.Idle() {
		t.Fatalf("Held = %d under blackhole, want %d", h, BufferSize+4)
	}
	l.Blackhole(false)
	readFull(t, peer, BufferSize)
	if got := readFull(t, device, 4); string(got) != "down" {
		t.Fatalf("device got %q", got)
	}
}

func TestCutResetsBothEnds(t *testing.T) {
	l := New(Conditions{Latency: 50 * time.Millisecond}, nil, 1)
	device, peer := pair(t, l)
	if _, err := device.Write([]byte("in flight")); err != nil {
		t.Fatal(err)
	}
	l.Cut()
	if _, err := device.Read(make([]byte, 1)); !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("device read after Cut: %v, want ECONNRESET", err)
	}
	if _, err := device.Write([]byte("x")); !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("device write after Cut: %v, want ECONNRESET", err)
	}
	_ = peer.SetReadDeadline(time.Now().Add(wait))
	got, err := io.ReadAll(peer)
	if len(got) != 0 || !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("peer after Cut: %q, %v; want nothing then ECONNRESET", got, err)
	}
	if !l.Idle() {
		t.Fatal("bytes held after Cut")
	}
}

func TestCloseDeliversWrittenBytesThenEOF(t *testing.T) {
	const latency = 100 * time.Millisecond
	l := New(Conditions{Latency: latency}, nil, 1)
	device, peer := pair(t, l)
	start := time.Now()
	if _, err := device.Write([]byte("bye")); err != nil {
		t.Fatal(err)
	}
	if err := device.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := device.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("write after Close: %v", err)
	}
	_ = peer.SetReadDeadline(time.Now().Add(wait))
	got, err := io.ReadAll(peer)
	if string(got) != "bye" || err != nil {
		t.Fatalf("peer got %q, %v; want bye then EOF", got, err)
	}
	if d := time.Since(start); d < latency {
		t.Fatalf("delivered after %v, before the latency", d)
	}
}

func TestPeerEOFArrivesAfterTheData(t *testing.T) {
	const latency = 100 * time.Millisecond
	l := New(Conditions{Latency: latency}, nil, 1)
	device, peer := pair(t, l)
	start := time.Now()
	if _, err := peer.Write([]byte("last")); err != nil {
		t.Fatal(err)
	}
	_ = peer.Close()
	_ = device.SetReadDeadline(time.Now().Add(wait))
	got, err := io.ReadAll(device)
	if string(got) != "last" || err != nil {
		t.Fatalf("device got %q, %v; want last then EOF", got, err)
	}
	if d := time.Since(start); d < latency {
		t.Fatalf("EOF after %v, before the latency", d)
	}
}

func TestReadDeadline(t *testing.T) {
	l := New(Conditions{}, nil, 1)
	device, _ := pair(t, l)
	_ = device.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if _, err := device.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read: %v", err)
	}
	var ne net.Error
	_ = device.SetDeadline(time.Now().Add(-time.Second))
	if _, err := device.Read(make([]byte, 1)); !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("read past the deadline: %v, want a timeout net.Error", err)
	}
}

// nopConn is a network side that swallows writes and answers nothing until closed.
type nopConn struct {
	net.Conn
	once sync.Once
	done chan struct{}
}

func newNopConn() *nopConn { return &nopConn{done: make(chan struct{})} }

func (c *nopConn) Write(b []byte) (int, error) { return len(b), nil }

func (c *nopConn) Read([]byte) (int, error) {
	<-c.done
	return 0, net.ErrClosed
}

func (c *nopConn) Close() error {
	c.once.Do(func() { close(c.done) })
	return nil
}
