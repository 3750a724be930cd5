package report_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/devicejs/devicejs/report"
)

// rawGet sends one GET of path with the given Host header line (omitted when host is "\x00")
// and extra header lines, and returns the status code and headers of the answer.
func rawGet(t *testing.T, addr, path, host string, extra ...string) (int, http.Header) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	var req strings.Builder
	fmt.Fprintf(&req, "GET %s HTTP/1.1\r\n", path)
	if host != "\x00" {
		fmt.Fprintf(&req, "Host: %s\r\n", host)
	}
	for _, h := range extra {
		req.WriteString(h + "\r\n")
	}
	req.WriteString("Connection: close\r\n\r\n")
	if _, err := io.WriteString(c, req.String()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("%s Host %q: %v", path, host, err)
	}
	return resp.StatusCode, resp.Header // the body is not read: /events does not end
}

// TestLiveHostHeader: a live server on loopback answers only its own names (a DNS-rebinding
// page reaches it under a name of its own) with 421 for every other Host, on every path; it
// sends no CORS header, whatever the Origin; it serves nothing outside its three paths.
func TestLiveHostHeader(t *testing.T) {
	l, err := report.ListenLive("127.0.0.1:0", func() report.Data { return report.Data{Title: "host test"} })
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close(report.Data{})
	addr := strings.TrimSuffix(strings.TrimPrefix(l.URL(), "http://"), "/")
	_, port, _ := net.SplitHostPort(addr)
	other := strconv.Itoa(map[bool]int{true: 8081, false: 8080}[port == "8080"])
	tt := []struct {
		host string
		want int
	}{
		{addr, 200},
		{"localhost:" + port, 200},
		{"LocalHost:" + port, 200},
		{"127.0.0.1:" + port, 200},
		{"[::1]:" + port, 200},
		{"evil.example", 421},
		{"evil.example:" + port, 421},
		{"rebind.127.0.0.1.nip.io:" + port, 421},
		{"localhost", 421},                    // no port: not this server's origin
		{"127.0.0.1", 421},                    //
		{"localhost:" + other, 421},           // another port
		{"localhost.:" + port, 421},           // trailing dot
		{"127.0.0.2:" + port, 421},            // another loopback address
		{"0.0.0.0:" + port, 421},              //
		{"[::ffff:127.0.0.1]:" + port, 421},   // the same address spelled otherwise
		{"2130706433:" + port, 421},           // 127.0.0.1 as a number
		{"localhost:" + port + ".evil", 421},  //
		{"user@localhost:" + port, 400},       // not a valid Host: net/http refuses it
		{"", 421},                             // empty
		{"\x00", 400},                         // none (HTTP/1.1 requires it)
		{"localhost:0" + port, 421},           // a leading zero
		{strings.Repeat("a", 4000), 421},      // long
		{"localhost:" + port + " extra", 400}, // a space
	}
	for _, tc := range tt {
		for _, path := range []string{"/", "/events", "/data.json"} {
			code, h := rawGet(t, addr, path, tc.host, "Origin: http://evil.example")
			if code != tc.want {
				t.Errorf("%s Host %q: %d, want %d", path, tc.host, code, tc.want)
			}
			for k := range h {
				if strings.HasPrefix(strings.ToLower(k), "access-control-") {
					t.Errorf("%s Host %q: CORS header %s", path, tc.host, k)
				}
			}
		}
	}
	for _, path := range []string{"/../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/assets/report.js", "/events/../../go.mod", "//etc/passwd"} {
		code, _ := rawGet(t, addr, path, addr)
		if code == 200 {
			t.Errorf("%s: 200", path)
		}
	}
}

// heapWatch samples the process's heap objects every 5 ms until stop and returns the peak.
func heapWatch() (stop func() uint64) {
	samples := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var peak atomic.Uint64
	done, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(samples)
			if v := samples[0].Value.Uint64(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 { close(done); <-finished; return peak.Load() }
}

func heapNow() uint64 {
	runtime.GC()
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// boundTrace writes a trace at the live page's bounds: LiveTraceEvents events in just over
// LiveTraceBytes of lines, as a chatty device's live page holds.
func boundTrace(t *testing.T) string {
	var b bytes.Buffer
	for i := range report.LiveTraceEvents {
		fmt.Fprintf(&b, `{"t":%g,"time":"2026-12-05T10:00:00.000000Z","kind":"publish","clientId":"dev-1","broker":"mqtt://127.0.0.1:1883","qos":1,"bytes":120,"topic":"testtopic/subtopic/%06d/%s"}`+"\n",
			float64(i)/10, i, strings.Repeat("x", 40))
	}
	if b.Len() <= report.LiveTraceBytes {
		t.Fatalf("the trace has %d bytes, not over LiveTraceBytes", b.Len())
	}
	return writeFile(t, "bound.jsonl", b.Bytes())
}

// TestLiveHostileClients: 2,000 clients that ask for /events (or the page) and never read,
// and 200 that read everything as fast as they can, for several intervals: the snapshot is
// taken and encoded about once per interval however many clients there are, the heap stays
// within a bound of a few frames, a well-behaved client still gets its events (or a 503 it
// can retry) while the flood goes on and the page afterwards, and everything is released when
// the clients go (goleak in TestMain).
func TestLiveHostileClients(t *testing.T) {
	path := boundTrace(t)
	base := heapNow()
	peak := heapWatch()
	tail := report.NewTraceTail(path)
	var calls atomic.Int64
	l, err := report.ListenLive("127.0.0.1:0", func() report.Data {
		calls.Add(1)
		return report.Data{Title: "hostile clients", Trace: tail.Snapshot()}
	})
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	defer func() {
		if !closed {
			l.Close(report.Data{})
		}
	}()
	addr := strings.TrimSuffix(strings.TrimPrefix(l.URL(), "http://"), "/")
	start := time.Now()

	var conns sync.WaitGroup
	var mu sync.Mutex
	var all []net.Conn
	var readBytes, got503, streams atomic.Int64
	var first sync.Once
	reading := make(chan struct{})
	dial := func() net.Conn {
		c, err := net.DialTimeout("tcp", addr, 30*time.Second)
		if err != nil {
			return nil
		}
		mu.Lock()
		all = append(all, c)
		mu.Unlock()
		return c
	}
	// 200 that read all they get until the end of the flood.
	for range 200 {
		conns.Add(1)
		go func() {
			defer conns.Done()
			c := dial()
			if c == nil {
				return
			}
			io.WriteString(c, "GET /events HTTP/1.1\r\nHost: "+addr+"\r\n\r\n")
			br := bufio.NewReader(c)
			if line, _ := br.ReadString('\n'); strings.Contains(line, " 503 ") {
				got503.Add(1)
			} else if strings.Contains(line, " 200 ") {
				streams.Add(1)
				first.Do(func() { close(reading) })
			}
			n, _ := io.Copy(io.Discard, br)
			readBytes.Add(n)
		}()
	}
	select { // the readers first, so that some hold streams when the others come
	case <-reading:
	case <-time.After(60 * time.Second):
		t.Fatal("no reader got a stream in 60 s")
	}
	// 2,000 that never read: /events mostly, some pages and data.json, with the smallest
	// receive buffer so that the server's writes block at once; in waves a second apart, so
	// that the writes that block hold frames of different intervals.
	var hogs sync.WaitGroup
	for i := range 2000 {
		if i%400 == 0 {
			time.Sleep(report.LiveInterval)
		}
		hogs.Add(1)
		go func() {
			defer hogs.Done()
			c := dial()
			if c == nil {
				return
			}
			if tc, ok := c.(*net.TCPConn); ok {
				tc.SetReadBuffer(1024)
			}
			path := []string{"/events", "/events", "/events", "/", "/data.json"}[i%5]
			io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: "+addr+"\r\n\r\n")
		}()
	}
	hogs.Wait()
	// A well-behaved client during the flood: it may be refused (503, retry later), but it is
	// answered.
	client := &http.Client{Timeout: 60 * time.Second}
	resp, err := client.Get(l.URL() + "data.json")
	if err != nil {
		t.Fatalf("data.json during the flood: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 && resp.StatusCode != 503 {
		t.Errorf("data.json during the flood: %s", resp.Status)
	}
	time.Sleep(3 * time.Second)
	mu.Lock()
	for _, c := range all {
		c.Close()
	}
	mu.Unlock()
	conns.Wait()
	elapsed := time.Since(start)
	p := peak()
	t.Logf("%d connections, trace of %d bytes: heap %.0f MiB before, peak %.0f MiB (+%.0f MiB), %d snapshots in %v, %.0f MiB read by the %d readers with a stream, %d refused (503)",
		len(all), report.LiveTraceBytes, mib(base), mib(p), mib(p)-mib(base), calls.Load(), elapsed.Round(time.Millisecond),
		float64(readBytes.Load())/(1<<20), streams.Load(), got503.Load())
	// The bound: LiveMemoryBound for the server, 64 MiB for 2,200 connections' buffers and
	// goroutines on both ends (the clients are in this process too).
	if bound := uint64(report.LiveMemoryBound + 64<<20); p > base+bound {
		t.Errorf("heap peaked %.0f MiB above the %.0f MiB before, want at most %.0f MiB", mib(p)-mib(base), mib(base), mib(bound))
	}
	if max := int64(elapsed/report.LiveInterval) + 4; calls.Load() > max {
		t.Errorf("%d snapshots in %v, want at most %d (one per interval)", calls.Load(), elapsed, max)
	}
	if readBytes.Load() < 1<<20 {
		t.Errorf("the readers got %d bytes, less than one frame", readBytes.Load())
	}
	if streams.Load() > report.MaxLiveStreams || got503.Load() < 200-report.MaxLiveStreams {
		t.Errorf("%d readers got a stream, %d were refused: want at most %d streams", streams.Load(), got503.Load(), report.MaxLiveStreams)
	}
	// After the flood the page is served whole.
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := client.Get(l.URL())
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == 200 {
			if !bytes.Contains(page, []byte(`"title":"hostile clients"`)) || !bytes.Contains(page, []byte(`"skipped":`)) {
				t.Errorf("page after the flood: %.200s", page)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("page after the flood: %s", resp.Status)
		}
		time.Sleep(500 * time.Millisecond)
	}
	if err := l.Close(report.Data{}); err != nil {
		t.Errorf("close: %v", err)
	}
	closed = true
	if after := heapNow(); after > base+uint64(report.LiveMemoryBound/2) {
		t.Errorf("heap %.0f MiB after the clients went, %.0f MiB before", mib(after), mib(base))
	}
}

func mib(n uint64) float64 { return float64(n) / (1 << 20) }
