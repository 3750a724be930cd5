package link

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	goruntime "runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/devicejs/devicejs/internal/testbroker"
)

// settleGoroutines waits until at most want goroutines run, returning the last count.
func settleGoroutines(want int) int {
	var n int
	testbroker.Eventually(wait, func() bool { n = goruntime.NumGoroutine(); return n <= want })
	return n
}

// TestIdleConnectionsCostOneGoroutine: an idle wrapped connection runs only its network
// reader; deliveries start when bytes are held and end when they are delivered; Close
// releases the reader.
func TestIdleConnectionsCostOneGoroutine(t *testing.T) {
	const n = 100
	base := goruntime.NumGoroutine()
	l := New(Conditions{Latency: 5 * time.Millisecond}, nil, 1)
	var devices, peers []net.Conn
	for i := 0; i < n; i++ {
		a, b := net.Pipe()
		devices = append(devices, l.WrapConn(a))
		peers = append(peers, b)
	}
	// Traffic both ways, then idle again.
	for i := range devices {
		go func(d, p net.Conn) {
			_, _ = d.Write([]byte("up"))
			_, _ = p.Write([]byte("down"))
		}(devices[i], peers[i])
	}
	for i := range devices {
		readFull(t, peers[i], 2)
		readFull(t, devices[i], 4)
	}
	got := settleGoroutines(base + n + 2)
	t.Logf("base %d, with %d idle connections %d", base, n, got)
	if got > base+n+2 {
		t.Fatalf("%d idle connections run %d goroutines, want about %d (one each)", n, got-base, n)
	}
	for i := range devices {
		_ = devices[i].Close()
		_ = peers[i].Close()
	}
	// +2: the runtime and the testing package may start a goroutine meanwhile.
	if got := settleGoroutines(base + 2); got > base+2 {
		t.Fatalf("%d goroutines left after Close, want %d", got, base)
	}
	if !l.Idle() {
		t.Fatal("link not Idle after every connection closed")
	}
}

// TestConcurrentUse drives several connections from many goroutines while the link's
// conditions, outages and blackhole change, then cuts; run with -race. Every byte written
// before the cut arrives in order or the connection reports the reset.
func TestConcurrentUse(t *testing.T) {
	l := New(Conditions{Latency: time.Millisecond, Jitter: time.Millisecond, Loss: 0.01}, scaledClock{scale: 20, start: time.Now()}, 9)
	var wg sync.WaitGroup
	for c := 0; c < 4; c++ {
		device, peer := pair(t, l)
		go func() { _, _ = io.Copy(peer, peer) }()
		wg.Add(2)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				if _, err := device.Write([]byte{byte(i)}); err != nil {
					return
				}
			}
		}()
		go func() {
			defer wg.Done()
			b := make([]byte, 1)
			for i := 0; i < 200; i++ {
				if _, err := io.ReadFull(device, b); err != nil {
					return
				}
				if b[0] != byte(i) {
					t.Errorf("byte %d is %d: order lost", i, b[0])
					return
				}
			}
		}()
	}
	stop := make(chan struct{})
	var ctl sync.WaitGroup
	ctl.Add(1)
	go func() {
		defer ctl.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				l.Blackhole(false)
				return
			default:
			}
			switch i % 4 {
			case 0:
				l.Set(Conditions{Latency: time.Duration(i%7) * time.Millisecond, Bandwidth: 1 << 20})
			case 1:
				l.Outage(5 * time.Millisecond)
			case 2:
				l.Blackhole(true)
			case 3:
				l.Blackhole(false)
				_ = l.Idle()
				_ = l.Stats()
			}
			time.Sleep(time.Millisecond)
		}
	}()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * wait):
		close(stop)
		ctl.Wait()
		l.Cut()
		t.Fatal("traffic did not complete")
	}
	close(stop)
	ctl.Wait()
	l.Cut()
}

// TestBlockedCallsEnd: a Write blocked on a full buffer under a blackhole and a Read waiting
// for data both return when the connection is closed or cut, with the matching error.
func TestBlockedCallsEnd(t *testing.T) {
	tt := []struct {
		name string
		end  func(l *Link, device net.Conn)
		want error
	}{
		{"Close", func(_ *Link, d net.Conn) { _ = d.Close() }, net.ErrClosed},
		{"Cut", func(l *Link, _ net.Conn) { l.Cut() }, syscall.ECONNRESET},
	}
	for _, tc := range tt {
		t.Run(tc.name, func(t *testing.T) {
			l := New(Conditions{}, nil, 1)
			device, _ := pair(t, l)
			l.Blackhole(true)
			defer l.Blackhole(false)
			errs := make(chan error, 2)
			go func() {
				_, err := device.Write(make([]byte, 2*BufferSize))
				errs <- err
			}()
			go func() {
				_, err := device.Read(make([]byte, 1))
				errs <- err
			}()
			// The Write blocks once it has filled the link's buffer (the Read blocks at once: a call
			// made after the end fails the same way).
			testbroker.WaitFor(t, wait, "the Write to fill the buffer", func() bool { return l.Held() >= BufferSize })
			tc.end(l, device)
			for i := 0; i < 2; i++ {
				select {
				case err := <-errs:
					if !errors.Is(err, tc.want) {
						t.Fatalf("blocked call ended with %v, want %v", err, tc.want)
					}
				case <-time.After(wait):
					t.Fatal("a blocked call did not end")
				}
			}
		})
	}
}

// TestUnvalidatedConditionsAreSafe: conditions that skip Validate (through Set) neither panic
// nor stall the stream forever.
func TestUnvalidatedConditionsAreSafe(t *testing.T) {
	for _, c := range []Conditions{
		{Latency: -time.Second, Jitter: -time.Second, Bandwidth: -5},
		{Loss: 5},
		{Loss: -1},
		{Jitter: 1 << 62, Latency: 1 << 62},
	} {
		l := New(Conditions{}, frozenClock{now: time.Unix(0, 0)}, 1)
		l.Set(c)
		w := l.WrapConn(newNopConn())
		if _, err := w.Write([]byte("x")); err != nil {
			t.Fatalf("%+v: %v", c, err)
		}
		if d := l.Stats().Up.MaxDelay; d < 0 || d > 2*MaxDelay+MaxRetransmits*MaxRTO {
			t.Fatalf("%+v: delay %v", c, d)
		}
		l.Cut()
	}
}

// TestConcurrentWritesDoNotInterleave: writes larger than the buffer from several goroutines
// arrive each in one piece, as on a socket (an MQTT packet must not be split by another).
func TestConcurrentWritesDoNotInterleave(t *testing.T) {
	l := New(Conditions{Latency: time.Millisecond}, nil, 1)
	device, peer := pair(t, l)
	const writers, size = 4, BufferSize + BufferSize/2
	for w := 0; w < writers; w++ {
		go func(b byte) { _, _ = device.Write(bytes.Repeat([]byte{b}, size)) }(byte('a' + w))
	}
	got := readFull(t, peer, writers*size)
	for i := 0; i < writers; i++ {
		block := got[i*size : (i+1)*size]
		if n := bytes.Count(block, block[:1]); n != size {
			t.Fatalf("write %d arrived interleaved: %d of %d bytes are %q", i, n, size, block[:1])
		}
	}
}

// TestReadDeadlineDoesNotStopTheStream: a read deadline that passed ends that Read only; data
// arriving afterwards is still delivered once the deadline is moved.
func TestReadDeadlineDoesNotStopTheStream(t *testing.T) {
	l := New(Conditions{}, nil, 1)
	device, peer := pair(t, l)
	_ = device.SetReadDeadline(time.Now().Add(-time.Second))
	if _, err := peer.Write([]byte("after")); err != nil {
		t.Fatal(err)
	}
	// The bytes reach the link while the deadline is past.
	testbroker.WaitFor(t, wait, "5 bytes in the link", func() bool { return l.Stats().Down.Bytes >= 5 })
	if _, err := device.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read past the deadline: %v", err)
	}
	if got := readFull(t, device, 5); string(got) != "after" {
		t.Fatalf("got %q", got)
	}
	if _, err := peer.Write([]byte("more")); err != nil {
		t.Fatal(err)
	}
	if got := readFull(t, device, 4); string(got) != "more" {
		t.Fatalf("got %q", got)
	}
}

// TestPeerResetReachesTheDevice: a reset from the network side reaches the device's Read (after
// the latency), and its Writes then fail instead of piling up.
func TestPeerResetReachesTheDevice(t *testing.T) {
	l := New(Conditions{Latency: 20 * time.Millisecond}, nil, 1)
	device, peer := pair(t, l)
	_ = peer.(*net.TCPConn).SetLinger(0)
	_ = peer.Close()
	_ = device.SetReadDeadline(time.Now().Add(wait))
	if _, err := device.Read(make([]byte, 1)); !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("device read after the peer's reset: %v, want ECONNRESET", err)
	}
	testbroker.WaitFor(t, wait, "a write to the reset connection to fail", func() bool {
		_, err := device.Write([]byte("x"))
		return err != nil
	})
}
