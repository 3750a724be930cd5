package link

import (
	"io"
	"net"
	goruntime "runtime"
	"sync"
	"testing"
	"time"
)

// settleGoroutines waits until at most want goroutines run, returning the last count.
func settleGoroutines(want int) int {
	deadline := time.Now().Add(wait)
	for {
		n := goruntime.NumGoroutine()
		if n <= want || time.Now().After(deadline) {
			return n
		}
		time.Sleep(10 * time.Millisecond)
	}
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
