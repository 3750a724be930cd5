package cli_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// paceScript publishes at QoS 1 every 10 ms on a 125-byte topic (the longest is 127): a chatty
// device whose live trace grows by about 70 KiB a second.
const paceScript = `var client = mqtt.connect('mqtt://foo.bar:1883', {clientId: 'pace'});
var topic = 'pace/' + 'x'.repeat(120);
setInterval(function () {
  if (client.canPublish()) client.publish(topic, 'p', {qos: 1}, function (err) {});
}, 10);`

// watchRSS samples the resident set of process pid every 20 ms until it is gone, and returns
// a function that waits for that and gives the peak. (getrusage's maxrss of a child counts
// the parent's memory at fork, which is this test process's.)
func watchRSS(pid int) (peak func() uint64) {
	var max atomic.Uint64
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/statm")
			if err != nil {
				return
			}
			f := strings.Fields(string(b))
			if len(f) < 2 {
				return
			}
			pages, _ := strconv.ParseUint(f[1], 10, 64)
			if pages == 0 { // a zombie: it has exited
				return
			}
			if rss := pages * uint64(os.Getpagesize()); rss > max.Load() {
				max.Store(rss)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	return func() uint64 { <-done; return max.Load() }
}

// paceRun is one run of paceScript: its exit code, peak resident memory and completed publishes.
type paceRun struct {
	code      int
	peakRSS   uint64
	published int
	stderr    string
	read      int64 // bytes the reading clients got
	refused   int64 // clients answered 503
}

// paceFor is how long each run of paceScript lasts. 8 s (15 s before 2026-12-05, issue 19
// item 8) still proves the bound: the trace grows by about 560 KiB in that time, so a server
// that kept what it owes each of the 1,200 non-reading /events clients would hold some
// 650 MiB, far over the 256 MiB allowed, and far over a 48 MiB --max-memory.
const paceFor = "8s"

// runPace runs paceScript for paceFor with extra flags; with flood, once the live page is up,
// 2,000 clients ask for it and never read and 200 read all they get, until the run ends.
func runPace(t *testing.T, flood bool, extra ...string) paceRun {
	t.Helper()
	dir := t.TempDir()
	src := script(t, "pace.js", paceScript)
	tracePath := filepath.Join(dir, "trace.jsonl")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	args := append([]string{"run", "--broker", "embedded", "--for", paceFor, "--trace-json", tracePath}, extra...)
	cmd := exec.CommandContext(ctx, binary, append(args, src)...)
	errOut, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	peakRSS := watchRSS(cmd.Process.Pid)
	var stderr strings.Builder
	sc := bufio.NewScanner(errOut)
	addr := ""
	for addr == "" && sc.Scan() {
		stderr.WriteString(sc.Text() + "\n")
		if u, ok := strings.CutPrefix(sc.Text(), "devicejs: live report at http://"); ok {
			addr = strings.TrimSuffix(u, "/")
		}
		if !flood {
			break
		}
	}
	rest := make(chan string)
	go func() { b, _ := io.ReadAll(errOut); rest <- string(b) }()

	var r paceRun
	var conns []net.Conn
	var mu sync.Mutex
	var readers sync.WaitGroup
	var read, refused atomic.Int64
	if flood {
		if addr == "" {
			t.Fatalf("no live address: %s", stderr.String())
		}
		dial := func() net.Conn {
			c, err := net.DialTimeout("tcp", addr, 20*time.Second)
			if err != nil {
				return nil
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			return c
		}
		for range 200 {
			readers.Add(1)
			go func() {
				defer readers.Done()
				c := dial()
				if c == nil {
					return
				}
				io.WriteString(c, "GET /events HTTP/1.1\r\nHost: "+addr+"\r\n\r\n")
				br := bufio.NewReader(c)
				if line, _ := br.ReadString('\n'); strings.Contains(line, " 503 ") {
					refused.Add(1)
				}
				n, _ := io.Copy(io.Discard, br)
				read.Add(n)
			}()
		}
		var hogs sync.WaitGroup
		for i := range 2000 {
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
	}
	err = cmd.Wait()
	r.peakRSS = peakRSS()
	mu.Lock()
	for _, c := range conns {
		c.Close()
	}
	mu.Unlock()
	readers.Wait()
	r.read, r.refused = read.Load(), refused.Load()
	r.stderr = stderr.String() + <-rest
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	r.published = countKind(tracePath, "publish_done")
	return r
}

// TestRunLiveUIFlood: `run --ui` with 2,000 clients that never read and 200 that read all they
// get: the run's peak RSS stays within 256 MiB of the same run without --ui, the device keeps
// its pace (at least half the publishes of the run without --ui on this shared machine; the
// flood's clients run on the same two cores), and the script is not stopped at its memory
// budget (exit 0), with the default budget and with a small one.
func TestRunLiveUIFlood(t *testing.T) {
	base := runPace(t, false)
	if base.code != 0 {
		t.Fatalf("without --ui: exit %d: %s", base.code, base.stderr)
	}
	for _, extra := range [][]string{{}, {"--max-memory", "48MiB"}} {
		r := runPace(t, true, append([]string{"--ui", "127.0.0.1:0"}, extra...)...)
		t.Logf("%v: without --ui peak RSS %.0f MiB, %d publishes; with --ui and 2,200 clients %.0f MiB, %d publishes (readers got %.0f MiB, %d refused)",
			extra, float64(base.peakRSS)/(1<<20), base.published, float64(r.peakRSS)/(1<<20), r.published, float64(r.read)/(1<<20), r.refused)
		if r.code != 0 || strings.Contains(r.stderr, "memory budget") {
			t.Errorf("%v: exit %d: %s", extra, r.code, r.stderr)
		}
		if r.peakRSS > base.peakRSS+256<<20 {
			t.Errorf("%v: peak RSS %.0f MiB with the flood, %.0f MiB without --ui: want at most 256 MiB more", extra, float64(r.peakRSS)/(1<<20), float64(base.peakRSS)/(1<<20))
		}
		if r.published < base.published/2 {
			t.Errorf("%v: %d publishes with the flood, %d without --ui: the device lost its pace", extra, r.published, base.published)
		}
	}
}
