package testbroker

import (
	"bufio"
	"context"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/devicejs/devicejs/internal/syncbuf"
)

// mosqClientArgs returns the mosquitto_sub/mosquitto_pub flags for addr and c.
func mosqClientArgs(t testing.TB, addr string, c clientConfig) []string {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("testbroker: bad address %q: %v", addr, err)
	}
	args := []string{"-h", host, "-p", port, "-i", c.id, "-V", "mqttv311"}
	if c.user != nil {
		args = append(args, "-u", *c.user, "-P", *c.pass)
	}
	if c.tls {
		caFile, certFile, keyFile := c.files(t)
		if caFile != "" {
			args = append(args, "--cafile", caFile)
		} else {
			args = append(args, "--capath", "/etc/ssl/certs")
		}
		if certFile != "" {
			args = append(args, "--cert", certFile, "--key", keyFile)
		}
	}
	return args
}

// SubProc is a running mosquitto_sub process (see SubProcess).
type SubProc struct {
	t      testing.TB
	n      int
	cmd    *exec.Cmd
	cancel context.CancelFunc
	done   chan struct{}
	mu     sync.Mutex
	lines  []string
	debug  []string
	err    error
}

// SubProcess starts `mosquitto_sub -t topic -C n` against addr and returns
// once its subscription is acknowledged. The process collects the payloads
// of n messages (one line each; a payload holding newlines gives several
// lines) and exits. It is killed at the end of the test.
func SubProcess(t testing.TB, addr, topic string, n int, opts ...ClientOption) *SubProc {
	t.Helper()
	bin := lookBinary(t, "mosquitto_sub")
	c := buildClient(opts)
	args := append(mosqClientArgs(t, addr, c), "-d", "-t", topic, "-q", strconv.Itoa(int(c.qos)), "-C", strconv.Itoa(n))
	// mosquitto_sub block-buffers its -d trace when stdout is a pipe; stdbuf
	// (coreutils) makes it line-buffered so the SUBACK line arrives in time.
	stdbuf, errStdbuf := exec.LookPath("stdbuf")
	if errStdbuf == nil { // found
		args = append([]string{"-oL", bin}, args...)
		bin = stdbuf
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	var stderr syncbuf.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("testbroker: start mosquitto_sub: %v", err)
	}
	s := &SubProc{t: t, n: n, cmd: cmd, cancel: cancel, done: make(chan struct{})}
	ready := make(chan struct{})
	go func() {
		defer close(s.done)
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
		readyOnce := sync.Once{}
		for sc.Scan() {
			line := sc.Text()
			s.mu.Lock()
			// -d prints protocol debug lines; everything else is a payload.
			if strings.HasPrefix(line, "Client ") || strings.HasPrefix(line, "Subscribed (mid:") {
				s.debug = append(s.debug, line)
				if strings.Contains(line, "received SUBACK") {
					readyOnce.Do(func() { close(ready) })
				}
			} else {
				s.lines = append(s.lines, line)
			}
			s.mu.Unlock()
		}
		err := cmd.Wait()
		s.mu.Lock()
		s.err = err
		if err != nil && stderr.String() != "" {
			s.debug = append(s.debug, "stderr: "+stderr.String())
		}
		s.mu.Unlock()
	}()
	t.Cleanup(func() { s.cancel(); <-s.done })
	if errStdbuf != nil {
		// No way to see the SUBACK: give the subscription time instead.
		select {
		case <-s.done:
		case <-time.After(time.Second):
			return s
		}
	}
	select {
	case <-ready:
	case <-s.done:
		t.Fatalf("testbroker: mosquitto_sub exited before subscribing: %v\n%s", s.err, s.Debug())
	case <-time.After(Wait):
		t.Fatalf("testbroker: mosquitto_sub: no SUBACK within %v\n%s", Wait, s.Debug())
	}
	return s
}

// Lines returns the payload lines received so far.
func (s *SubProc) Lines() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.lines...)
}

// Debug returns mosquitto_sub's protocol trace and error output.
func (s *SubProc) Debug() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.debug, "\n")
}

// Wait waits up to Wait for the process to receive its n messages and exit,
// and returns the payload lines. It fails the test on timeout or error.
func (s *SubProc) Wait() []string {
	s.t.Helper()
	select {
	case <-s.done:
	case <-time.After(Wait):
		s.t.Fatalf("testbroker: mosquitto_sub: got %d of %d messages within %v: %q\n%s", len(s.Lines()), s.n, Wait, s.Lines(), s.Debug())
	}
	s.mu.Lock()
	err := s.err
	s.mu.Unlock()
	if err != nil {
		s.t.Fatalf("testbroker: mosquitto_sub: %v\n%s", err, s.Debug())
	}
	return s.Lines()
}

// Pub runs `mosquitto_pub -t topic -m msg -q qos` against addr and fails the
// test if it does not succeed within Wait.
func Pub(t testing.TB, addr, topic, msg string, qos byte, opts ...ClientOption) {
	t.Helper()
	if err := PubErr(t, addr, topic, msg, qos, opts...); err != nil {
		t.Fatal(err)
	}
}

// PubErr is Pub that returns the error (with mosquitto_pub's output) instead.
func PubErr(t testing.TB, addr, topic, msg string, qos byte, opts ...ClientOption) error {
	t.Helper()
	bin := lookBinary(t, "mosquitto_pub")
	c := buildClient(opts)
	args := append(mosqClientArgs(t, addr, c), "-t", topic, "-m", msg, "-q", strconv.Itoa(int(qos)))
	ctx, cancel := context.WithTimeout(context.Background(), Wait)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
	if err != nil {
		return &ProcError{Cmd: "mosquitto_pub", Err: err, Output: string(out)}
	}
	return nil
}

// ProcError is a failed mosquitto-clients run.
type ProcError struct {
	Cmd    string
	Err    error
	Output string
}

// Error implements error.
func (e *ProcError) Error() string {
	return "testbroker: " + e.Cmd + ": " + e.Err.Error() + ": " + strings.TrimSpace(e.Output)
}

// Unwrap returns the process error.
func (e *ProcError) Unwrap() error { return e.Err }
