package mqttcore

import (
	"context"
	"errors"
	"net"
	"sync"
)

// ErrNoResource is returned by Host.Connect while every MQTT session resource of the host is
// held (Limits.MaxSessions). A resource is held from Connect until the release that follows
// Session.End, which is asynchronous: a Connect right after End may still fail with it.
var ErrNoResource = errors.New("mqttcore: no MQTT session resource available")

// HostConfig configures a Host. The zero value is usable: device limits, wall clock,
// net.Dialer and a per-host serial callback goroutine.
type HostConfig struct {
	// Limits bounds sessions and subscriptions; zero fields mean DeviceLimits().
	Limits Limits
	// Clock is device time (reconnectPeriod, connectTimeout); nil means wall time.
	Clock Clock
	// Dial opens the TCP connection of one connection attempt. It must honour ctx
	// (cancelled on connectTimeout and End). Nil means a net.Dialer.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// Executor runs every event and completion callback, one at a time and in the order
	// they were produced. It must not block and must run the functions in the order it was
	// given them. Nil means a per-host serial goroutine.
	Executor func(func())
	// Trace, if non-nil, is called at each action of every session of the host (connection
	// attempts, CONNACK, subscribe/suback, publish/completion, messages, close, reconnect
	// waits, end; see TraceKind). It is called synchronously with the session's lock held,
	// so a session's events arrive in order: it must not block and must not call the Session.
	// Calls for different sessions may be concurrent. Events never carry credentials.
	Trace func(TraceEvent)
	// PacketTrace, if non-nil, is called with a TracePacket event for every MQTT control
	// packet written to or read from a broker (docs/trace.md), from the goroutine doing the
	// I/O, without the session's lock; a session's packets arrive in wire order per direction.
	// It must not block and must not call the Session. Nil (the default) parses nothing.
	PacketTrace func(TraceEvent)
}

// Host is one device: it owns the count of MQTT session resources and the callback executor.
// A Host is safe for use from any goroutine.
type Host struct {
	limits Limits
	clock  Clock
	dial   func(ctx context.Context, network, addr string) (net.Conn, error)
	exec   func(func())
	trace  func(TraceEvent)
	// packetTrace is HostConfig.PacketTrace.
	packetTrace func(TraceEvent)

	mu   sync.Mutex
	held int // session resources held
}

// NewHost returns a Host for c.
func NewHost(c HostConfig) *Host {
	h := &Host{limits: c.Limits.WithDefaults(), clock: c.Clock, dial: c.Dial, exec: c.Executor, trace: c.Trace,
		packetTrace: c.PacketTrace}
	if h.clock == nil {
		h.clock = wallClock{}
	}
	if h.dial == nil {
		var d net.Dialer
		h.dial = d.DialContext
	}
	if h.exec == nil {
		h.exec = (&serialExecutor{}).post
	}
	return h
}

// Limits returns the host's effective limits.
func (h *Host) Limits() Limits { return h.limits }

// SessionsHeld returns the number of session resources currently held.
func (h *Host) SessionsHeld() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.held
}

// Connect validates url and o, takes a session resource and returns a Session whose first
// connection attempt runs in the background; its outcome arrives as a Connect or Error event.
//
// It fails with an *ArgError (errors.Is(err, IllegalArgument)) for an invalid url or option,
// and with ErrNoResource while all session resources are held. TLS settings are not checked
// here: an unusable certificate or key fails the connection attempt with errnoConnect 7, as the
// device does. Safe from any goroutine.
func (h *Host) Connect(url string, o Options, t TLSSettings, ev Events) (*Session, error) {
	ep, err := ParseURL(url)
	if err != nil {
		return nil, err
	}
	if err := h.limits.validate(o); err != nil {
		return nil, err
	}
	h.mu.Lock()
	if h.held >= h.limits.MaxSessions {
		h.mu.Unlock()
		return nil, ErrNoResource
	}
	h.held++
	h.mu.Unlock()

	s := newSession(h, ep, o, t, ev)
	s.mu.Lock()
	s.startAttemptLocked()
	s.mu.Unlock()
	return s, nil
}

// release gives back one session resource.
func (h *Host) release() {
	h.mu.Lock()
	h.held--
	h.mu.Unlock()
}

// serialExecutor runs posted functions one at a time, in order, on a goroutine that exists
// only while there is work (so an idle host leaks no goroutine).
type serialExecutor struct {
	mu      sync.Mutex
	queue   []func()
	running bool
}

func (e *serialExecutor) post(f func()) {
	e.mu.Lock()
	e.queue = append(e.queue, f)
	if !e.running {
		e.running = true
		go e.run()
	}
	e.mu.Unlock()
}

func (e *serialExecutor) run() {
	for {
		e.mu.Lock()
		if len(e.queue) == 0 {
			e.running = false
			e.queue = nil
			e.mu.Unlock()
			return
		}
		f := e.queue[0]
		e.queue[0] = nil
		e.queue = e.queue[1:]
		e.mu.Unlock()
		f()
	}
}
