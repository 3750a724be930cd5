package broker

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"golang.org/x/net/nettest"
)

// TestMemConnConformance runs x/net's net.Conn conformance suite (deadlines,
// racy reads and writes, close while blocked) over memPipe.
func TestMemConnConformance(t *testing.T) {
	nettest.TestConn(t, func() (c1, c2 net.Conn, stop func(), err error) {
		a, b := memPipe()
		return a, b, func() { a.Close(); b.Close() }, nil
	})
}

func TestMemConnEOFAfterBufferedData(t *testing.T) {
	a, b := memPipe()
	defer b.Close()
	if _, err := a.Write([]byte("last words")); err != nil {
		t.Fatal(err)
	}
	a.Close()
	got, err := io.ReadAll(b)
	if err != nil || string(got) != "last words" {
		t.Fatalf("ReadAll = %q, %v", got, err)
	}
	if _, err := b.Write([]byte("x")); err == nil {
		t.Fatal("write to a closed peer succeeded")
	}
	if err := a.Close(); err == nil {
		t.Fatal("second Close returned nil")
	}
	if _, err := a.Read(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("read after Close: %v", err)
	}
}

func TestMemConnWriteBlocksWhenFull(t *testing.T) {
	a, b := memPipe()
	defer a.Close()
	defer b.Close()
	big := bytes.Repeat([]byte("x"), memBufSize+1)
	a.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
	n, err := a.Write(big)
	if n != memBufSize || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Write = %d, %v; want %d, deadline exceeded", n, err, memBufSize)
	}
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("error %v is not a timeout net.Error", err)
	}
	// Reading makes room; a later write succeeds.
	a.SetWriteDeadline(time.Time{})
	done := make(chan error, 1)
	go func() { _, err := a.Write(big[:10]); done <- err }()
	if _, err := io.ReadFull(b, make([]byte, 100)); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("write still blocked after the reader made room")
	}
}

func TestMemListenerDialCancelled(t *testing.T) {
	l := newMemListener("test")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := l.dial(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("dial with cancelled ctx: %v", err)
	}
	l.Close()
	if _, err := l.dial(context.Background()); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("dial after Close: %v", err)
	}
	if _, err := l.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Accept after Close: %v", err)
	}
	if l.Addr().Network() != MemoryNetwork {
		t.Fatal("network", l.Addr().Network())
	}
}
