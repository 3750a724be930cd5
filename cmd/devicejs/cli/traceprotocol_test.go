package cli_test

import (
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// downgradingBroker is a minimal MQTT 3.1.1 peer that behaves like RabbitMQ with QoS 2: it
// accepts every CONNECT and answers every QoS 1 or 2 PUBLISH with PUBACK.
func downgradingBroker(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { _ = l.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				serveDowngrading(c)
			}()
		}
	}()
	return l.Addr().String()
}

func serveDowngrading(c net.Conn) {
	for {
		var hdr [1]byte
		if _, err := io.ReadFull(c, hdr[:]); err != nil {
			return
		}
		n, mul := 0, 1
		for i := 0; i < 4; i++ {
			var b [1]byte
			if _, err := io.ReadFull(c, b[:]); err != nil {
				return
			}
			n += int(b[0]&0x7f) * mul
			mul *= 128
			if b[0]&0x80 == 0 {
				break
			}
		}
		body := make([]byte, n)
		if _, err := io.ReadFull(c, body); err != nil {
			return
		}
		var out []byte
		switch h := hdr[0]; {
		case h>>4 == 1:
			out = []byte{0x20, 2, 0, 0}
		case h>>4 == 3 && h&0x06 != 0 && n >= 2:
			at := 2 + (int(body[0])<<8 | int(body[1]))
			if at+2 <= n {
				out = []byte{0x40, 2, body[at], body[at+1]}
			}
		case h>>4 == 12:
			out = []byte{0xD0, 0}
		}
		if out != nil {
			if _, err := c.Write(out); err != nil {
				return
			}
		}
	}
}

// TestTraceProtocolErrorQoS2Puback checks what a user sees when a broker answers a QoS 2
// PUBLISH with PUBACK (issue 12 item 1): the callback gets 12, the connection closes, and
// --trace names the packet and the violation.
func TestTraceProtocolErrorQoS2Puback(t *testing.T) {
	t.Parallel()
	addr := downgradingBroker(t)
	src := `var c = mqtt.connect('mqtt://broker.local:1883', {reconnectCount: 0});
c.on('connect', function() {
  c.publish('q/2', 'x', {qos: 1}, function(err) {
    print('qos1 ' + err.code);
    c.publish('q/2', 'x', {qos: 2}, function(err) { print('qos2 ' + err.code + ' ' + err.message); });
  });
});
c.on('close', function() { print('close'); c.end(); });
`
	jsonPath := filepath.Join(t.TempDir(), "trace.jsonl")
	r := runBinary(t, "run", "--broker", addr, "--for", "20s", "--trace", "--trace-json", jsonPath, script(t, "qos2.js", src))
	if r.code != 0 {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	if want := "qos1 0\nqos2 12 Publish failed\nclose\n"; r.stdout != want {
		t.Errorf("stdout %q, want %q", r.stdout, want)
	}
	for _, w := range []string{" recv PUBACK ", " protocol_error mqtt://broker.local:1883 ", "packet=PUBACK",
		`error="PUBACK for QoS 2 PUBLISH`, " close mqtt://"} {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("--trace lacks %q:\n%s", w, r.stderr)
		}
	}
	data, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"kind":"protocol_error"`) || !strings.Contains(string(data), `"packet":"PUBACK"`) {
		t.Errorf("--trace-json lacks the protocol_error record:\n%s", data)
	}
}
