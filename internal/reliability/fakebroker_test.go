package reliability

import (
	"net"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/devicejs/devicejs/internal/testbroker"
	"github.com/devicejs/devicejs/mqttcore"
)

var connackOK = []byte{0x20, 2, 0, 0}

// peakHeap samples HeapAlloc every millisecond until stop is called and returns the peak.
func peakHeap() (stop func() uint64) {
	var peak atomic.Uint64
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > peak.Load() {
				peak.Store(ms.HeapAlloc)
			}
			select {
			case <-done:
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	return func() uint64 { close(done); <-finished; return peak.Load() }
}

// TestHostileBroker (issue 6 item 8): a broker sending garbage never panics the session,
// produces a coded error (error 1 with errnoConnect 6 before CONNACK, close after it), and
// memory stays bounded even when a packet announces 256 MiB.
func TestHostileBroker(t *testing.T) {
	publish := func(topic string, payload int) []byte {
		n := 2 + len(topic) + payload
		p := []byte{0x30}
		for {
			b := byte(n % 128)
			n /= 128
			if n > 0 {
				b |= 0x80
			}
			p = append(p, b)
			if n == 0 {
				break
			}
		}
		p = append(p, 0, byte(len(topic)))
		p = append(p, topic...)
		return append(p, make([]byte, payload)...)
	}
	tt := []struct {
		name   string
		send   []byte
		before bool // fails before CONNACK (error 1) rather than after (close)
		stays  bool // the connection survives
	}{
		{name: "non-CONNACK first packet", send: []byte{0x40, 2, 0, 1}, before: true},
		{name: "SUBACK first", send: []byte{0x90, 3, 0, 1, 0}, before: true},
		{name: "256 MiB announced first, then stall", send: []byte{0x30, 0xff, 0xff, 0xff, 0x7f}, before: true},
		{name: "5-byte remaining length", send: append(append([]byte{}, connackOK...), 0x30, 0xff, 0xff, 0xff, 0xff, 0x01)},
		{name: "256 MiB announced, then stall", send: append(append([]byte{}, connackOK...), 0x30, 0xff, 0xff, 0xff, 0x7f, 0, 1)},
		{name: "stray acks", send: append(append([]byte{}, connackOK...), 0x40, 2, 0, 99, 0x50, 2, 0, 7, 0x70, 2, 0, 5, 0x90, 3, 0, 9, 0, 0xb0, 2, 0, 3), stays: true},
		{name: "PUBLISH larger than recvBuffSize", send: append(append([]byte{}, connackOK...), publish("big", 4000)...), stays: true},
		{name: "PUBLISH above the packet cap", send: append(append([]byte{}, connackOK...), publish("huge", 2<<20)...)},
	}
	for _, tc := range tt {
		t.Run(tc.name, func(t *testing.T) {
			addr := testbroker.Fake(t, testbroker.OnConnect(func(c net.Conn) { _, _ = c.Write(tc.send) })).Addr()
			runtime.GC()
			var base runtime.MemStats
			runtime.ReadMemStats(&base)
			stop := peakHeap()
			o := deviceOptions()
			o.ReconnectCount = 0
			o.KeepAlive = 0
			d := startDevice(t, "mqtt://"+addr, o, mqttcore.HostConfig{}, mqttcore.TLSSettings{})
			switch {
			case tc.before:
				d.waitEvent("error 1", wait)
				if e := d.s.ErrnoConnect(); e != mqttcore.ErrnoConnectionFailed {
					t.Fatalf("errnoConnect %d, want 6", e)
				}
			case tc.stays:
				d.waitEvent("connect", wait)
				time.Sleep(200 * time.Millisecond)
				if !d.s.IsConnected() {
					t.Fatal("connection dropped")
				}
			default:
				d.waitEvent("connect", wait)
				d.waitEvent("close", wait)
			}
			peak := stop()
			grow := int64(peak) - int64(base.HeapAlloc)
			if grow > 32<<20 {
				t.Fatalf("heap grew by %d MiB", grow>>20)
			}
			st := d.s.Stats()
			figure(t, "hostile-broker", "fake", "%s: %s; heap peak +%d KiB; discarded for size %d",
				tc.name, map[bool]string{true: "error 1 / close as expected", false: "connection kept"}[!tc.stays], max(grow, 0)>>10, st.DiscardedForSize)
		})
	}
}
