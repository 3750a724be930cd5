//go:build unix

package mqttcore

import (
	"errors"
	"net"
	"os"
	"syscall"
	"time"
)

// rawConnOf returns the raw connection of c for non-blocking writes (a TCP or Unix socket),
// or nil.
func rawConnOf(c net.Conn) syscall.RawConn {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return rc
}

// tryWrite writes as much of p as the socket takes now, without waiting. n < len(p) with a nil
// error means the socket buffer is full (or a write deadline had passed); a non-nil error means
// the socket failed. The caller holds g.wmu.
func (g *guardConn) tryWrite(p []byte) (n int, err error) {
	n, err = g.tryWriteOnce(p)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		// The deadline of an earlier write (guardConn.Write bounds each one) has passed; the
		// socket is not written to before it is cleared. This write cannot block anyway.
		_ = g.Conn.SetWriteDeadline(time.Time{})
		n, err = g.tryWriteOnce(p)
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		err = nil // not written: finished off the caller's goroutine with a fresh deadline
	}
	return n, err
}

func (g *guardConn) tryWriteOnce(p []byte) (n int, err error) {
	cerr := g.raw.Write(func(fd uintptr) bool {
		for n < len(p) {
			k, e := syscall.Write(int(fd), p[n:])
			if e == syscall.EINTR {
				continue
			}
			if e == syscall.EAGAIN {
				return true
			}
			if e != nil {
				err = e
				return true
			}
			n += k
		}
		return true
	})
	if cerr != nil && err == nil {
		err = cerr
	}
	return n, err
}
