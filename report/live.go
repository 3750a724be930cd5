package report

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/netutil"
)

// LiveInterval is how often a live page is sent new data.
const LiveInterval = time.Second

// LiveMemoryBound is the heap the live page of a run may hold at its bounds, whatever its
// clients do: the trace it follows (LiveTraceBytes of lines, parsed), the frames still being
// written to clients (a write takes at most liveWriteTimeout, so about six of them) and the
// pages rendered from them. `devicejs run --ui` adds it to the script's heap budget
// (--max-memory), which watches the whole process's heap.
const LiveMemoryBound = 128 << 20

// The live server's bounds: what 2,000 clients that never read, or read slowly, can hold.
const (
	// MaxLiveStreams is the number of /events streams served at once; more are answered 503.
	MaxLiveStreams = 32
	// maxLiveDocs is the number of pages and /data.json answers written at once; more are
	// answered 503.
	maxLiveDocs = 8
	// maxLiveConns is the number of connections open at once; more wait to be accepted.
	maxLiveConns = 256
	// liveWriteTimeout bounds the write of one page or one event to a client: a client that
	// does not take it in that time is disconnected.
	liveWriteTimeout = 5 * time.Second
)

// ResolveUIAddr turns a --ui value into the address to listen on. A bare port ("8080") or a
// port with no host (":8080") binds the loopback interface, 127.0.0.1; a full address binds
// what it names, so listening beyond this machine ("0.0.0.0:8080") must be asked for by
// name. remote reports whether the address is not a loopback one (callers warn about it).
func ResolveUIAddr(v string) (addr string, remote bool, err error) {
	return ResolveListenAddr("--ui", v)
}

// ResolveListenAddr is ResolveUIAddr for any flag (--ui, --metrics), named in its errors.
func ResolveListenAddr(flag, v string) (addr string, remote bool, err error) {
	if _, perr := strconv.ParseUint(v, 10, 16); perr == nil {
		v = ":" + v
	}
	host, port, err := net.SplitHostPort(v)
	if err != nil {
		return "", false, fmt.Errorf("%s %q: want PORT, :PORT or HOST:PORT", flag, v)
	}
	if n, perr := strconv.ParseUint(port, 10, 16); perr != nil || (n == 0 && port != "0") {
		return "", false, fmt.Errorf("%s %q: bad port", flag, v)
	}
	if host == "" {
		return net.JoinHostPort("127.0.0.1", port), false, nil
	}
	if host == "localhost" {
		return net.JoinHostPort(host, port), false, nil
	}
	ip := net.ParseIP(host)
	return net.JoinHostPort(host, port), ip == nil || !ip.IsLoopback(), nil
}

// Live serves the report page while a run goes on: GET / is the page, GET /events a stream of
// server-sent events (one JSON Data per LiveInterval), GET /data.json the current data. Close
// sends every open page the final data, marked not live, and stops the server.
//
// However many clients there are, the data is taken and encoded once per LiveInterval (only
// while some client wants it) and the same bytes are written to every client; streams are
// capped at MaxLiveStreams and pages at a few at once (more get 503), every write has a
// deadline, and a request whose Host is not one of the server's own names gets 421 (a page
// of another site that rebinds its name to 127.0.0.1 cannot read the trace), unless the
// server listens beyond loopback. Its methods are safe from any goroutine.
type Live struct {
	ln       net.Listener
	srv      *http.Server
	snapshot func() Data
	hosts    map[string]bool // the Host values answered; nil = any
	closing  sync.Once
	ticker   chan struct{} // closed to stop the ticker goroutine
	tickDone chan struct{}
	streams  chan struct{} // one token per /events stream served
	docs     chan struct{} // one token per page or /data.json written
	watchers atomic.Int64  // /events streams open

	mu  sync.Mutex // guards cur, and makes encoding single-flight
	cur *frame
}

// frame is the data of one moment, encoded once for every client.
type frame struct {
	at    time.Time
	title string
	gen   string
	sse   []byte        // "data: " + the JSON + "\n\n" (the JSON has no newline)
	err   error         // the data could not be encoded
	final bool          // the final data (Close)
	next  chan struct{} // closed when a newer frame replaces this one

	pageOnce sync.Once
	page     []byte // the whole page, rendered on first request
	pageErr  error
}

func (f *frame) json() []byte { return f.sse[len("data: ") : len(f.sse)-2] }

func (f *frame) html() ([]byte, error) {
	f.pageOnce.Do(func() {
		var b bytes.Buffer
		f.pageErr = writePage(&b, f.title, f.gen, f.json())
		f.page = b.Bytes()
	})
	return f.page, f.pageErr
}

// ListenLive listens on addr (see ResolveUIAddr) and serves the data snapshot returns, which
// is called from the server's goroutines (it must be safe for concurrent use), at most once
// per LiveInterval.
func ListenLive(addr string, snapshot func() Data) (*Live, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--ui: %w", err)
	}
	l := &Live{ln: ln, snapshot: snapshot, ticker: make(chan struct{}),
		tickDone: make(chan struct{}), streams: make(chan struct{}, MaxLiveStreams), docs: make(chan struct{}, maxLiveDocs),
		hosts: ownHosts(ln.Addr())}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", l.page)
	mux.HandleFunc("GET /events", l.events)
	mux.HandleFunc("GET /data.json", l.dataJSON)
	l.srv = &http.Server{Handler: l.checkHost(mux), ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout: 10 * time.Second, MaxHeaderBytes: 16 << 10,
		// Each write sets its own deadline (writeAll); this one makes every request start
		// with a fresh deadline, not the one a previous request on the connection left.
		WriteTimeout: liveWriteTimeout}
	go func() { _ = l.srv.Serve(netutil.LimitListener(ln, maxLiveConns)) }()
	go l.tick()
	return l, nil
}

// ownHosts returns the Host header values a server listening on a answers: its address and
// localhost, 127.0.0.1 and [::1] with its port; nil (any) when it listens beyond loopback.
func ownHosts(a net.Addr) map[string]bool {
	ta, ok := a.(*net.TCPAddr)
	if !ok || !ta.IP.IsLoopback() {
		return nil
	}
	port := strconv.Itoa(ta.Port)
	hosts := map[string]bool{a.String(): true}
	for _, h := range []string{"localhost", "127.0.0.1", "[::1]"} {
		hosts[h+":"+port] = true
		if port == "80" {
			hosts[h] = true
		}
	}
	return hosts
}

// checkHost answers 421 to a request whose Host is not one of the server's own names.
func (l *Live) checkHost(next http.Handler) http.Handler { return hostGuard(l.hosts, next) }

// HostGuard wraps the handler of a server listening on a: a request whose Host is not one of
// the server's own names (its address; localhost, 127.0.0.1 and [::1] with its port) gets 421,
// unless a is beyond loopback. `devicejs fleet --metrics` uses the rule of --ui.
func HostGuard(a net.Addr, next http.Handler) http.Handler { return hostGuard(ownHosts(a), next) }

func hostGuard(hosts map[string]bool, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hosts != nil && !hosts[strings.ToLower(r.Host)] {
			w.Header().Set("Connection", "close")
			http.Error(w, "this server answers only to its own address", http.StatusMisdirectedRequest)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// URL returns the page's address, e.g. "http://127.0.0.1:8080/".
func (l *Live) URL() string { return "http://" + l.ln.Addr().String() + "/" }

// latest returns the current frame, encoding a new one when the current one is older than
// maxAge (or there is none). Concurrent callers wait for the one encoding.
func (l *Live) latest(maxAge time.Duration) *frame {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cur != nil && (l.cur.final || time.Since(l.cur.at) < maxAge) {
		return l.cur
	}
	d := l.snapshot()
	d.Live = true
	l.publishLocked(d, false)
	return l.cur
}

// publishLocked encodes d as the current frame and wakes the streams waiting on the previous.
func (l *Live) publishLocked(d Data, final bool) {
	if !final {
		d.Generated = ""
	}
	d = withDefaults(d)
	f := &frame{title: d.Title, gen: d.Generated, final: final, next: make(chan struct{})}
	var b bytes.Buffer
	b.WriteString("data: ")
	// Encode writes nothing on error; it escapes <, > and & as writePage needs.
	if f.err = json.NewEncoder(&b).Encode(d); f.err != nil {
		b.WriteString("{}\n")
	}
	b.WriteByte('\n')
	f.sse = b.Bytes()
	// The age counts from the end of the encoding: when taking and encoding the data takes
	// longer than LiveInterval (a large trace on a busy machine), clients get the frame
	// just made rather than each waiting for a new one.
	f.at = time.Now()
	if l.cur != nil {
		close(l.cur.next)
	}
	l.cur = f
}

// tick encodes a new frame every LiveInterval while some stream is open, until Close; at
// most every other interval when encoding takes longer than half of one.
func (l *Live) tick() {
	defer close(l.tickDone)
	t := time.NewTicker(LiveInterval)
	defer t.Stop()
	for {
		select {
		case <-l.ticker:
			return
		case <-t.C:
			if l.watchers.Load() > 0 {
				l.latest(LiveInterval / 2)
			}
		}
	}
}

// acquire takes a token of sem, or answers 503 and returns false when there is none.
func acquire(w http.ResponseWriter, sem chan struct{}) bool {
	select {
	case sem <- struct{}{}:
		return true
	default:
		w.Header().Set("Connection", "close")
		w.Header().Set("Retry-After", "5")
		http.Error(w, "too many clients of the live report", http.StatusServiceUnavailable)
		return false
	}
}

// writeAll writes b to w within liveWriteTimeout and flushes it.
func writeAll(w http.ResponseWriter, b []byte) error {
	rc := http.NewResponseController(w)
	if err := rc.SetWriteDeadline(time.Now().Add(liveWriteTimeout)); err != nil {
		return err
	}
	if _, err := w.Write(b); err != nil {
		return err
	}
	return rc.Flush()
}

func (l *Live) page(w http.ResponseWriter, _ *http.Request) {
	if !acquire(w, l.docs) {
		return
	}
	defer func() { <-l.docs }()
	f := l.latest(LiveInterval)
	b, err := f.html()
	if f.err != nil || err != nil {
		http.Error(w, "the report data cannot be encoded", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = writeAll(w, b)
}

func (l *Live) dataJSON(w http.ResponseWriter, _ *http.Request) {
	if !acquire(w, l.docs) {
		return
	}
	defer func() { <-l.docs }()
	f := l.latest(LiveInterval)
	if f.err != nil {
		http.Error(w, "the report data cannot be encoded", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = writeAll(w, f.sse[len("data: "):len(f.sse)-1]) // the JSON and a newline
}

// events streams the frames: the current one, then each newer one as it comes (a client too
// slow for every frame gets the latest when it is ready), until the final one, the client
// going, or a write not taken within liveWriteTimeout.
func (l *Live) events(w http.ResponseWriter, r *http.Request) {
	if !acquire(w, l.streams) {
		return
	}
	defer func() { <-l.streams }()
	l.watchers.Add(1)
	defer l.watchers.Add(-1)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	for f := l.latest(LiveInterval); ; {
		if writeAll(w, f.sse) != nil || f.final {
			return
		}
		select {
		case <-r.Context().Done():
			return
		case <-f.next:
		}
		l.mu.Lock()
		f = l.cur
		l.mu.Unlock()
	}
}

// Close sends open pages final (with Live false) and stops the server, waiting up to 2 s for
// the pages to get it. Later calls do nothing.
func (l *Live) Close(final Data) error {
	var err error
	l.closing.Do(func() {
		close(l.ticker)
		<-l.tickDone
		final.Live = false
		l.mu.Lock()
		l.publishLocked(final, true)
		l.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err = l.srv.Shutdown(ctx); errors.Is(err, context.DeadlineExceeded) {
			err = l.srv.Close()
		}
	})
	return err
}
