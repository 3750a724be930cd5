package link

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"
)

// FuzzParse: Parse never panics, and what it accepts passes Validate and survives String.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"lte", "3g,loss=5%", "latency=200ms,jitter=50ms,loss=1%,bandwidth=256kbit", "none",
		"bandwidth=1MB/s", "loss=0.05", "latency=1h", "bandwidth=1e20gbit", "loss=NaN%", ",,", "=",
		"latency=1ms,latency=2ms", "satellite,latency=0s", "bandwidth=0.1B",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		c, err := Parse(spec)
		if err != nil {
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("Parse(%q) = %+v, which fails Validate: %v", spec, c, err)
		}
		back, err := Parse(c.String())
		if err != nil || back != c {
			t.Fatalf("Parse(%q) = %+v; String %q parses to %+v, %v", spec, c, c.String(), back, err)
		}
	})
}

// FuzzStreamIntact: whatever the conditions and however the writes are cut, the bytes arrive
// complete and in order.
func FuzzStreamIntact(f *testing.F) {
	f.Add([]byte("hello, link"), uint8(5), uint8(5), uint8(10), uint16(3), int64(1))
	f.Add(bytes.Repeat([]byte{0xA5}, 5000), uint8(0), uint8(20), uint8(50), uint16(1460), int64(7))
	f.Add([]byte{}, uint8(1), uint8(0), uint8(0), uint16(0), int64(0))
	f.Fuzz(func(t *testing.T, data []byte, latencyMs, jitterMs, lossPct uint8, chunk uint16, seed int64) {
		if len(data) > 1<<16 {
			data = data[:1<<16]
		}
		c := Conditions{
			Latency: time.Duration(latencyMs) * time.Millisecond,
			Jitter:  time.Duration(jitterMs) * time.Millisecond,
			Loss:    float64(lossPct%100) / 100,
		}
		// Device time runs 1000x faster: a 200 ms retransmission timeout is 0.2 ms of wall time.
		l := New(c, scaledClock{scale: 1000, start: time.Now()}, seed)
		a, peer := net.Pipe()
		device := l.WrapConn(a)
		defer device.Close()
		got := make(chan []byte, 1)
		go func() {
			b, _ := io.ReadAll(io.LimitReader(peer, int64(len(data))))
			got <- b
			_ = peer.Close()
		}()
		step := int(chunk)%2000 + 1
		for rest := data; len(rest) > 0; {
			n := min(step, len(rest))
			if _, err := device.Write(rest[:n]); err != nil {
				t.Fatal(err)
			}
			rest = rest[n:]
		}
		select {
		case b := <-got:
			if !bytes.Equal(b, data) {
				t.Fatalf("%d bytes in, %d out, different", len(data), len(b))
			}
		case <-time.After(wait):
			t.Fatal("stream not delivered")
		}
	})
}
