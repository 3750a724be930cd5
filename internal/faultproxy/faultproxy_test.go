package faultproxy

import (
	"bytes"
	"errors"
	"io"
	"net"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/devicejs/devicejs/internal/testbroker"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// wait bounds every wait of these tests.
const wait = 5 * time.Second

// sink is a TCP server (a Fake broker) that records everything its clients send.
type sink struct {
	addr string
	mu   sync.Mutex
	got  bytes.Buffer
}

func newSink(t *testing.T) *sink {
	t.Helper()
	s := &sink{}
	s.addr = testbroker.Fake(t, func(c net.Conn) {
		buf := make([]byte, 4096)
		for {
			n, err := c.Read(buf)
			s.mu.Lock()
			s.got.Write(buf[:n])
			s.mu.Unlock()
			if err != nil {
				return
			}
		}
	}).Addr()
	return s
}

func (s *sink) bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]byte(nil), s.got.Bytes()...)
}

func newProxy(t *testing.T, target string) *Proxy {
	t.Helper()
	p, err := New(target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, wait)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// Packets used by the tests: a CONNECT-like, a PUBLISH with a 10-byte body and a PINGREQ.
var (
	pkConnect = []byte{0x10, 4, 'M', 'Q', 'T', 'T'}
	pkPublish = []byte{0x32, 10, 0, 3, 'a', '/', 'b', 0, 1, 'x', 'y', 'z'}
	pkPing    = []byte{0xC0, 0}
)

func cat(bs ...[]byte) []byte { return bytes.Join(bs, nil) }

// readErr reads from c until an error and returns it (bounded by wait).
func readErr(t *testing.T, c net.Conn) error {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(wait))
	_, err := io.Copy(io.Discard, c)
	if err == nil {
		err = io.EOF
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("link was not cut")
	}
	return err
}

func TestRules(t *testing.T) {
	stream := cat(pkConnect, pkPublish, pkPing, pkPublish)
	tt := []struct {
		name string
		rule *Rule
		seg  int
		want []byte // what the broker side receives
		cut  bool
	}{
		{name: "pass", want: stream},
		{name: "pass 1-byte segments", seg: 1, want: stream},
		{name: "before publish", rule: &Rule{Dir: ClientToBroker, Type: PUBLISH, Cut: Before}, want: pkConnect, cut: true},
		{name: "mid publish", rule: &Rule{Dir: ClientToBroker, Type: PUBLISH, Cut: Mid}, want: cat(pkConnect, pkPublish[:2+5]), cut: true},
		{name: "after publish", rule: &Rule{Dir: ClientToBroker, Type: PUBLISH, Cut: After}, want: cat(pkConnect, pkPublish), cut: true},
		{name: "second publish", rule: &Rule{Dir: ClientToBroker, Type: PUBLISH, Nth: 2, Cut: Before}, want: cat(pkConnect, pkPublish, pkPing), cut: true},
		{name: "other direction", rule: &Rule{Dir: BrokerToClient, Type: PUBLISH, Cut: Before}, want: stream},
		{name: "1-byte segments then cut", seg: 1, rule: &Rule{Dir: ClientToBroker, Type: PINGREQ, Cut: After}, want: cat(pkConnect, pkPublish, pkPing), cut: true},
	}
	for _, tc := range tt {
		t.Run(tc.name, func(t *testing.T) {
			s := newSink(t)
			p := newProxy(t, s.addr)
			p.SetSegment(tc.seg)
			if tc.rule != nil {
				p.AddRule(*tc.rule)
			}
			var seen []Packet
			var mu sync.Mutex
			p.Watch(func(pk Packet) { mu.Lock(); seen = append(seen, pk); mu.Unlock() })
			c := dial(t, p.Addr())
			// Written one byte at a time: the framing must not depend on read boundaries.
			for _, b := range stream {
				if _, err := c.Write([]byte{b}); err != nil {
					break
				}
			}
			if tc.cut {
				if err := readErr(t, c); !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, io.EOF) {
					t.Fatalf("client read after cut: %v", err)
				}
			}
			testbroker.WaitFor(t, wait, "broker side bytes", func() bool { return len(s.bytes()) >= len(tc.want) })
			time.Sleep(20 * time.Millisecond) // nothing more may arrive
			if got := s.bytes(); !bytes.Equal(got, tc.want) {
				t.Fatalf("broker got % x, want % x", got, tc.want)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(seen) == 0 || seen[0].Type != CONNECT || seen[0].Dir != ClientToBroker {
				t.Fatalf("watch saw %+v", seen)
			}
			if tc.cut && p.RulesLeft() != 0 {
				t.Fatalf("rule not spent")
			}
		})
	}
}

func TestRuleTimes(t *testing.T) {
	s := newSink(t)
	p := newProxy(t, s.addr)
	p.AddRule(Rule{Dir: ClientToBroker, Type: CONNECT, Cut: Before, Times: 2})
	for i := range 3 {
		c := dial(t, p.Addr())
		if _, err := c.Write(pkConnect); err != nil {
			t.Fatal(err)
		}
		if i < 2 {
			readErr(t, c)
			continue
		}
		testbroker.WaitFor(t, wait, "third CONNECT", func() bool { return bytes.Equal(s.bytes(), pkConnect) })
	}
	if p.Accepted() != 3 {
		t.Fatalf("accepted %d, want 3", p.Accepted())
	}
}

func TestBlackholeHoldsAndResumes(t *testing.T) {
	s := newSink(t)
	p := newProxy(t, s.addr)
	c := dial(t, p.Addr())
	if _, err := c.Write(pkConnect); err != nil {
		t.Fatal(err)
	}
	testbroker.WaitFor(t, wait, "connect", func() bool { return len(s.bytes()) == len(pkConnect) })
	p.Blackhole(true)
	if _, err := c.Write(pkPing); err != nil {
		t.Fatal(err)
	}
	time.Sleep(150 * time.Millisecond)
	if n := len(s.bytes()); n != len(pkConnect) {
		t.Fatalf("blackholed link forwarded: %d bytes", n)
	}
	if p.Links() != 1 {
		t.Fatalf("links %d, want the link kept open", p.Links())
	}
	p.Blackhole(false)
	testbroker.WaitFor(t, wait, "held ping", func() bool { return bytes.Equal(s.bytes(), cat(pkConnect, pkPing)) })
}

func TestDelay(t *testing.T) {
	s := newSink(t)
	p := newProxy(t, s.addr)
	p.SetDelay(100 * time.Millisecond)
	c := dial(t, p.Addr())
	start := time.Now()
	if _, err := c.Write(pkConnect); err != nil {
		t.Fatal(err)
	}
	testbroker.WaitFor(t, wait, "connect", func() bool { return len(s.bytes()) == len(pkConnect) })
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Fatalf("forwarded after %v, want >= 100ms", d)
	}
}

func TestResetAndRefuse(t *testing.T) {
	s := newSink(t)
	p := newProxy(t, s.addr)
	c := dial(t, p.Addr())
	if _, err := c.Write(pkConnect); err != nil {
		t.Fatal(err)
	}
	testbroker.WaitFor(t, wait, "connect", func() bool { return len(s.bytes()) == len(pkConnect) })
	p.Reset()
	if err := readErr(t, c); !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("after Reset: %v, want ECONNRESET", err)
	}
	p.Refuse(true)
	// The reset may already fail the dial.
	if c2, err := net.DialTimeout("tcp", p.Addr(), wait); err == nil {
		defer c2.Close()
		if err := readErr(t, c2); !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, io.EOF) {
			t.Fatalf("refused link: %v", err)
		}
	}
	testbroker.WaitFor(t, wait, "links closed", func() bool { return p.Links() == 0 })
	if p.Accepted() != 2 {
		t.Fatalf("accepted %d, want 2", p.Accepted())
	}
}

func TestSetTarget(t *testing.T) {
	s1, s2 := newSink(t), newSink(t)
	p := newProxy(t, s1.addr)
	p.SetTarget(s2.addr)
	c := dial(t, p.Addr())
	if _, err := c.Write(pkPing); err != nil {
		t.Fatal(err)
	}
	testbroker.WaitFor(t, wait, "ping at the new target", func() bool { return bytes.Equal(s2.bytes(), pkPing) })
}

func TestFramer(t *testing.T) {
	big := []byte{0x30, 0xff, 0xff, 0xff, 0x7f} // 256 MiB announced
	tt := []struct {
		name    string
		feeds   [][]byte
		packets int // whole packets framed
		raw     bool
	}{
		{name: "one", feeds: [][]byte{pkPublish}, packets: 1},
		{name: "split header", feeds: [][]byte{pkPublish[:1], pkPublish[1:]}, packets: 1},
		{name: "two in one", feeds: [][]byte{cat(pkPing, pkPublish)}, packets: 2},
		{name: "partial", feeds: [][]byte{pkPublish[:5]}, packets: 0},
		{name: "oversized passes raw", feeds: [][]byte{cat(big, []byte("abc"))}, packets: 0, raw: true},
		{name: "malformed length", feeds: [][]byte{{0x30, 0xff, 0xff, 0xff, 0xff, 0x01}}, packets: 0, raw: true},
	}
	for _, tc := range tt {
		t.Run(tc.name, func(t *testing.T) {
			var f framer
			pk, raw := 0, 0
			for _, b := range tc.feeds {
				for _, ch := range f.feed(b) {
					if ch.packet {
						pk++
					} else {
						raw++
					}
				}
			}
			if pk != tc.packets || (raw > 0) != tc.raw {
				t.Fatalf("packets %d raw %d; want %d raw %v", pk, raw, tc.packets, tc.raw)
			}
		})
	}
}

func TestRawPassesTLSLikeBytes(t *testing.T) {
	s := newSink(t)
	p := newProxy(t, s.addr)
	p.SetRaw(true)
	p.AddRule(Rule{Dir: ClientToBroker, Type: CONNECT, Cut: Before})
	c := dial(t, p.Addr())
	hello := []byte{0x16, 0x03, 0x01, 0x02, 0x00, 1, 2, 3} // a TLS record header: not MQTT framing
	if _, err := c.Write(hello); err != nil {
		t.Fatal(err)
	}
	testbroker.WaitFor(t, wait, "raw bytes", func() bool { return bytes.Equal(s.bytes(), hello) })
}
