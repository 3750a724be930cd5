//go:build !unix

package mqttcore

import (
	"errors"
	"net"
	"syscall"
)

// rawConnOf returns nil: direct writes are implemented for unix sockets only.
func rawConnOf(net.Conn) syscall.RawConn { return nil }

// tryWrite is never called without a raw connection.
func (g *guardConn) tryWrite([]byte) (int, error) {
	return 0, errors.New("mqttcore: no raw connection")
}
