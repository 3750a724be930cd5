package report

import (
	"net"
	"testing"
)

// TestOwnHosts: a server on a loopback address answers its own names only; one that listens
// beyond loopback (asked for by name, with a warning) answers any Host.
func TestOwnHosts(t *testing.T) {
	tt := []struct {
		addr  net.Addr
		hosts []string // nil: any
	}{
		{&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8080}, []string{"127.0.0.1:8080", "localhost:8080", "[::1]:8080"}},
		{&net.TCPAddr{IP: net.IPv6loopback, Port: 9000}, []string{"[::1]:9000", "localhost:9000", "127.0.0.1:9000"}},
		{&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 80}, []string{"127.0.0.1:80", "localhost:80", "[::1]:80", "localhost", "127.0.0.1", "[::1]"}},
		{&net.TCPAddr{IP: net.IPv4zero, Port: 8080}, nil},
		{&net.TCPAddr{IP: net.IPv6unspecified, Port: 8080}, nil},
		{&net.TCPAddr{IP: net.IPv4(192, 168, 1, 5), Port: 8080}, nil},
		{&net.UnixAddr{Name: "/tmp/x", Net: "unix"}, nil},
	}
	for _, tc := range tt {
		got := ownHosts(tc.addr)
		if tc.hosts == nil {
			if got != nil {
				t.Errorf("%v: %v, want any host", tc.addr, got)
			}
			continue
		}
		if len(got) != len(tc.hosts) {
			t.Errorf("%v: %v, want %v", tc.addr, got, tc.hosts)
		}
		for _, h := range tc.hosts {
			if !got[h] {
				t.Errorf("%v: %q not answered", tc.addr, h)
			}
		}
	}
}
