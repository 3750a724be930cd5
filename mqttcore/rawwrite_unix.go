//go:build unix

package mqttcore

import (
	"errors"
	"net"
	"os"
	"syscall"
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
	if cerr != nil && err == nil && !errors.Is(cerr, os.ErrDeadlineExceeded) {
		err = cerr
	}
	return n, err
}
