package reliability

import (
	"context"
	"net"
	"os"
	goruntime "runtime"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/devicejs/devicejs/broker"
	"github.com/devicejs/devicejs/internal/pki"
	"github.com/devicejs/devicejs/internal/testbroker"
	"github.com/devicejs/devicejs/mqttcore"
)

// openFDs counts the process's open file descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	es, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	return len(es)
}

func heapAfterGC() uint64 {
	var ms goruntime.MemStats
	for range 3 {
		goruntime.GC()
	}
	goruntime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// TestConnectEndCycles (issue 6 item 7): 1,000 connect/end cycles over memory, TCP and TLS
// connections, including End during the connection attempt and during a reconnection, leave
// no goroutine, file descriptor or heap behind.
func TestConnectEndCycles(t *testing.T) {
	ca := pki.Must(pki.NewCA("leak CA"))
	srv := pki.Must(ca.IssueServer("127.0.0.1"))
	b := testbroker.MochiConfig(t, broker.Config{TCPAddr: "127.0.0.1:0", TLSAddr: "127.0.0.1:0", CertPEM: srv.ChainPEM, KeyPEM: srv.KeyPEM})
	refusing := newProxy(t, "127.0.0.1:1")
	refusing.Refuse(true)
	tlsSet := mqttcore.TLSSettings{CA: string(ca.CertPEM)}
	mem := b.MemoryDialer()

	type cycle struct {
		name  string
		n     int
		url   string
		dial  func(ctx context.Context, network, addr string) (net.Conn, error)
		tls   mqttcore.TLSSettings
		endAt string // "connect": after the connect event; "now": during the attempt; "reconnect": after a reconnect event
	}
	cycles := []cycle{
		{"memory", 800, "mqtt://127.0.0.1:1883", mem, mqttcore.TLSSettings{}, "connect"},
		{"memory, end during connect", 50, "mqtt://127.0.0.1:1883", mem, mqttcore.TLSSettings{}, "now"},
		{"TCP, end during reconnect", 50, "mqtt://" + refusing.Addr(), nil, mqttcore.TLSSettings{}, "reconnect"},
		{"TCP", 50, "mqtt://" + b.Addr(), nil, mqttcore.TLSSettings{}, "connect"},
		{"TLS", 50, "mqtts://" + b.TLSAddr(), nil, tlsSet, "connect"},
	}
	run := func(c cycle) {
		t.Helper()
		o := deviceOptions()
		o.ReconnectPeriod = 0
		ev := make(chan string, 64)
		send := func(s string) {
			select {
			case ev <- s:
			default:
			}
		}
		h := mqttcore.NewHost(mqttcore.HostConfig{Dial: c.dial})
		s, err := h.Connect(c.url, o, c.tls, mqttcore.Events{
			Connect:   func(mqttcore.Connack) { send("connect") },
			Reconnect: func() { send("reconnect") },
		})
		if err != nil {
			t.Fatal(err)
		}
		if c.endAt != "now" {
			select {
			case e := <-ev:
				if e != c.endAt {
					t.Fatalf("%s: event %s, want %s", c.name, e, c.endAt)
				}
			case <-time.After(wait):
				t.Fatalf("%s: no %s event", c.name, c.endAt)
			}
		}
		rel := make(chan struct{})
		s.End(func() { close(rel) })
		select {
		case <-rel:
		case <-time.After(wait):
			t.Fatalf("%s: not released", c.name)
		}
	}
	// Warm up (lazily created pools, TLS tables), then take the baseline.
	for _, c := range cycles {
		run(c)
	}
	baseG := goleak.IgnoreCurrent()
	baseFD, baseHeap := openFDs(t), heapAfterGC()
	start := time.Now()
	total := 0
	for _, c := range cycles {
		for range c.n {
			run(c)
			total++
		}
	}
	el := time.Since(start)
	if err := goleak.Find(baseG); err != nil {
		t.Fatalf("goroutines after %d cycles: %v", total, err)
	}
	var fd int
	testbroker.WaitFor(t, wait, "fds back to the baseline", func() bool { fd = openFDs(t); return fd <= baseFD })
	heap := heapAfterGC()
	grow := int64(heap) - int64(baseHeap)
	if grow > 4<<20 {
		t.Fatalf("heap grew by %d KiB over %d cycles", grow>>10, total)
	}
	figure(t, "leaks", "mochi (embedded)", "%d connect/end cycles in %v: goroutines back to baseline, fds %d -> %d, heap %+d KiB",
		total, el.Round(100*time.Millisecond), baseFD, fd, grow>>10)
}
