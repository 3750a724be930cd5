package bindings_test

import (
	"bufio"
	"encoding/binary"
	"io"
	"net"
	"sync"
	"testing"
)

// fakeBroker is a minimal MQTT 3.1.1 peer for the benchmarks: it accepts connections on a
// loopback port, answers CONNECT, SUBSCRIBE, UNSUBSCRIBE, PINGREQ and QoS 1 PUBLISH, and
// either echoes each PUBLISH back as QoS 0 (echo) or, after the first SUBACK, sends flood
// QoS 0 messages of 64 bytes to the subscribed filter. It keeps broker work out of the
// profiles of the binding's hot paths.
type fakeBroker struct {
	ln    net.Listener
	echo  bool
	flood int
	wg    sync.WaitGroup
}

func startFakeBroker(tb testing.TB, echo bool, flood int) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	f := &fakeBroker{ln: ln, echo: echo, flood: flood}
	var mu sync.Mutex
	var conns []net.Conn
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			f.wg.Add(1)
			go func() {
				defer f.wg.Done()
				f.serve(c)
			}()
		}
	}()
	tb.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		f.wg.Wait()
	})
	return ln.Addr().String()
}

func (f *fakeBroker) serve(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	w := bufio.NewWriter(c)
	for {
		h, err := r.ReadByte()
		if err != nil {
			return
		}
		n, err := readRemaining(r)
		if err != nil {
			return
		}
		body := make([]byte, n)
		if _, err := io.ReadFull(r, body); err != nil {
			return
		}
		switch h >> 4 {
		case 1: // CONNECT
			w.Write([]byte{0x20, 2, 0, 0})
		case 3: // PUBLISH
			qos := (h >> 1) & 3
			tl := int(binary.BigEndian.Uint16(body))
			topic := body[2 : 2+tl]
			rest := body[2+tl:]
			if qos > 0 {
				w.Write([]byte{0x40, 2, rest[0], rest[1]})
				rest = rest[2:]
			}
			if f.echo {
				writePublish(w, topic, rest)
			}
		case 8: // SUBSCRIBE
			filters := 0
			for i := 2; i+2 <= len(body); {
				i += 2 + int(binary.BigEndian.Uint16(body[i:])) + 1
				filters++
			}
			w.Write([]byte{0x90, byte(2 + filters), body[0], body[1]})
			for range filters {
				w.WriteByte(0)
			}
			if f.flood > 0 {
				fl := int(binary.BigEndian.Uint16(body[2:]))
				topic := body[4 : 4+fl]
				payload := make([]byte, 64)
				for range f.flood {
					writePublish(w, topic, payload)
				}
				f.flood = 0
			}
		case 10: // UNSUBSCRIBE
			w.Write([]byte{0xB0, 2, body[0], body[1]})
		case 12: // PINGREQ
			w.Write([]byte{0xD0, 0})
		case 14: // DISCONNECT
			w.Flush()
			return
		}
		if r.Buffered() == 0 {
			if err := w.Flush(); err != nil {
				return
			}
		}
	}
}

func readRemaining(r *bufio.Reader) (int, error) {
	n, mul := 0, 1
	for range 4 {
		b, err := r.ReadByte()
		if err != nil {
			return 0, err
		}
		n += int(b&0x7f) * mul
		if b&0x80 == 0 {
			return n, nil
		}
		mul *= 128
	}
	return 0, io.ErrUnexpectedEOF
}

// writePublish writes a QoS 0 PUBLISH (remaining length < 16 KiB).
func writePublish(w *bufio.Writer, topic, payload []byte) {
	n := 2 + len(topic) + len(payload)
	w.WriteByte(0x30)
	if n < 128 {
		w.WriteByte(byte(n))
	} else {
		w.Write([]byte{byte(n&0x7f) | 0x80, byte(n >> 7)})
	}
	w.Write([]byte{byte(len(topic) >> 8), byte(len(topic))})
	w.Write(topic)
	w.Write(payload)
}
