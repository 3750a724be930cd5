package report

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// LiveInterval is how often a live page is sent new data.
const LiveInterval = time.Second

// ResolveUIAddr turns a --ui value into the address to listen on. A bare port ("8080") or a
// port with no host (":8080") binds the loopback interface, 127.0.0.1; a full address binds
// what it names, so listening beyond this machine ("0.0.0.0:8080") must be asked for by
// name. remote reports whether the address is not a loopback one (callers warn about it).
func ResolveUIAddr(v string) (addr string, remote bool, err error) {
	if _, perr := strconv.ParseUint(v, 10, 16); perr == nil {
		v = ":" + v
	}
	host, port, err := net.SplitHostPort(v)
	if err != nil {
		return "", false, fmt.Errorf("--ui %q: want PORT, :PORT or HOST:PORT", v)
	}
	if n, perr := strconv.ParseUint(port, 10, 16); perr != nil || (n == 0 && port != "0") {
		return "", false, fmt.Errorf("--ui %q: bad port", v)
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
// sends every open page the final data, marked not live, and stops the server. Its methods are
// safe from any goroutine.
type Live struct {
	ln       net.Listener
	srv      *http.Server
	snapshot func() Data
	done     chan struct{}
	closing  sync.Once

	mu    sync.Mutex
	final *Data
}

// ListenLive listens on addr (see ResolveUIAddr) and serves the data snapshot returns, which
// is called from the server's goroutines (it must be safe for concurrent use).
func ListenLive(addr string, snapshot func() Data) (*Live, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--ui: %w", err)
	}
	l := &Live{ln: ln, snapshot: snapshot, done: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", l.page)
	mux.HandleFunc("GET /events", l.events)
	mux.HandleFunc("GET /data.json", l.dataJSON)
	l.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = l.srv.Serve(ln) }()
	return l, nil
}

// URL returns the page's address, e.g. "http://127.0.0.1:8080/".
func (l *Live) URL() string { return "http://" + l.ln.Addr().String() + "/" }

// current is the data to send: the final data once Close was called, else a live snapshot.
func (l *Live) current() Data {
	l.mu.Lock()
	f := l.final
	l.mu.Unlock()
	if f != nil {
		return *f
	}
	d := l.snapshot()
	d.Live = true
	return d
}

func (l *Live) page(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = Write(w, l.current())
}

func (l *Live) dataJSON(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(l.current())
}

func (l *Live) events(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	send := func() bool {
		b, err := json.Marshal(l.current())
		if err != nil {
			return false
		}
		if _, err := fmt.Fprintf(w, "data: %s\n\n", b); err != nil {
			return false
		}
		fl.Flush()
		return true
	}
	t := time.NewTicker(LiveInterval)
	defer t.Stop()
	for send() {
		select {
		case <-r.Context().Done():
			return
		case <-l.done:
			send() // the final data, not live: the page stops listening
			return
		case <-t.C:
		}
	}
}

// Close sends open pages final (with Live false) and stops the server, waiting up to 2 s for
// the pages to get it. Later calls do nothing.
func (l *Live) Close(final Data) error {
	var err error
	l.closing.Do(func() {
		final.Live = false
		l.mu.Lock()
		l.final = &final
		l.mu.Unlock()
		close(l.done)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err = l.srv.Shutdown(ctx); errors.Is(err, context.DeadlineExceeded) {
			err = l.srv.Close()
		}
	})
	return err
}
