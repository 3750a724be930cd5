package link

import (
	"io"
	"net"
	"testing"
)

// BenchmarkThroughput measures the cost of carrying bytes through a perfect link (no delays):
// 16 KiB writes from the device to a peer over net.Pipe.
func BenchmarkThroughput(b *testing.B) {
	l := New(Conditions{}, nil, 1)
	a, peer := net.Pipe()
	device := l.WrapConn(a)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = io.Copy(io.Discard, peer)
	}()
	buf := make([]byte, 16<<10)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := device.Write(buf); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	_ = device.Close()
	<-done
}

// BenchmarkIdleConnection measures what wrapping and closing one connection costs.
func BenchmarkIdleConnection(b *testing.B) {
	l := New(Conditions{Latency: 1}, nil, 1)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		a, p := net.Pipe()
		c := l.WrapConn(a)
		_ = c.Close()
		_ = p.Close()
	}
}
