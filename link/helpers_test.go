package link

import (
	"context"
	"io"
	"math"
	"net"
	"testing"
	"time"

	"github.com/devicejs/devicejs/internal/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

// wait bounds every wait of these tests.
const wait = 10 * time.Second

// pair dials a loopback TCP listener through l and returns the device's (wrapped) end and the
// peer's plain end; both are closed at the end of the test.
func pair(t *testing.T, l *Link) (device, peer net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- c
	}()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	device, err = l.Dialer(nil)(ctx, "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	peer, ok := <-accepted
	if !ok {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() {
		_ = device.Close()
		_ = peer.Close()
	})
	return device, peer
}

// readFull reads exactly n bytes from c within wait.
func readFull(t *testing.T, c net.Conn, n int) []byte {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(wait))
	b := make([]byte, n)
	if _, err := io.ReadFull(c, b); err != nil {
		t.Fatalf("read %d bytes: %v", n, err)
	}
	_ = c.SetReadDeadline(time.Time{})
	return b
}

// scaledClock is device time running scale times faster than wall time (test copy of
// runtime.NewScaledClock, which this package does not import).
type scaledClock struct {
	scale float64
	start time.Time
}

func (c scaledClock) Now() time.Time {
	return c.start.Add(time.Duration(float64(time.Since(c.start)) * c.scale))
}

func (c scaledClock) AfterFunc(d time.Duration, f func()) func() bool {
	return time.AfterFunc(time.Duration(math.Ceil(float64(d)/c.scale)), f).Stop
}

// frozenClock is a device clock that never moves: nothing held is ever delivered, which
// lets a test look at the schedule alone.
type frozenClock struct{ now time.Time }

func (c frozenClock) Now() time.Time { return c.now }

func (frozenClock) AfterFunc(time.Duration, func()) func() bool { return func() bool { return true } }
