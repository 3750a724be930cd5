package mqttcore

import (
	"sync"
	"time"
)

// Events are the session's event callbacks. Any field may be nil. All of them, and every
// completion callback, run through HostConfig.Executor in the order things happened.
type Events struct {
	Connect   func(Connack)                                   // a connection (first or re-) was accepted by the broker
	Reconnect func()                                          // a reconnection attempt (automatic or manual) starts
	Close     func()                                          // an established connection was lost or dropped
	Error     func(Code)                                      // ConnectionFailed: an attempt failed and no automatic retry follows
	End       func()                                          // End was called
	Message   func(topic string, payload []byte, binary bool) // a PUBLISH was received
}

// Connack is the content of the CONNACK that accepted a connection.
type Connack struct {
	SessionPresent bool
	ReturnCode     byte // always 0 in a Connect event
}

// Stats are a session's counters since Connect.
type Stats struct {
	Published        uint64 // publishes completed with code 0
	Received         uint64 // messages delivered to the Message event
	DiscardedForSize uint64 // messages dropped because topic+payload+9 > recvBuffSize
	Reconnects       uint64 // Reconnect events emitted
	DroppedForQueue  uint64 // messages dropped because the inbound queue was full (inbound.go)
}

// sessState is the state of the session state machine (docs/device-semantics.md,
// "Session state machine").
type sessState int

const (
	stConnecting   sessState = iota // first attempt in progress
	stConnected                     // a connection is open
	stWaiting                       // waiting reconnectPeriod before a reconnection attempt
	stReconnecting                  // a reconnection attempt is in progress
	stIdle                          // disconnected, nothing pending (after an Error event or a loss without retries)
	stEnded                         // End was called
)

// Session is one device MQTT session (the JS {Client}). All methods are safe from any
// goroutine and never block on the network.
type Session struct {
	h        *Host
	ep       Endpoint
	opts     Options
	tls      TLSSettings
	ev       Events
	clientID string

	wg       sync.WaitGroup // background goroutines: attempts, operations, disconnects
	released chan struct{}  // closed once the session resource is given back

	mu        sync.Mutex
	state     sessState
	errno     Errno
	autoLeft  int         // automatic attempts left in this failure streak; -1 = forever
	timerStop func() bool // pending reconnectPeriod wait
	timerSeq  uint64      // identifies the pending wait
	att       *attempt    // attempt in progress
	conn      *connection // open connection
	pub       *op         // the publish in flight
	ops       []*op       // operations in flight, in issue order
	subs      []*subscription
	stats     Stats
	inbound   inboundQueue // messages posted to the Executor, not yet delivered
	endCalled bool
	broker    string // ep.String(), kept by trace
}

// subscription is a filter held by the current connection.
type subscription struct {
	filter string
	qos    byte
	binary bool
	owner  *op // the SUBSCRIBE that added it, until acknowledged
}

func newSession(h *Host, ep Endpoint, o Options, t TLSSettings, ev Events) *Session {
	s := &Session{h: h, ep: ep, opts: o, tls: t, ev: ev, released: make(chan struct{})}
	s.clientID = o.ClientID
	if s.clientID == "" {
		s.clientID = GenerateClientID()
	}
	s.autoLeft = s.autoBudget()
	return s
}

// autoBudget is the number of automatic attempts allowed after a failure or loss.
func (s *Session) autoBudget() int {
	if s.opts.ReconnectsForever() {
		return -1
	}
	return s.opts.ReconnectCount
}

// post hands f to the executor; called with s.mu held, so callbacks keep the order of the
// state changes that produced them.
func (s *Session) post(f func()) {
	if f != nil {
		s.h.exec(f)
	}
}

// IsConnected reports whether a connection is open. A connection whose socket has failed is
// not: it is declared lost first (liveLocked).
func (s *Session) IsConnected() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.liveLocked()
}

// IsReconnecting reports whether a reconnection (automatic or manual) is waiting for its
// reconnectPeriod or in progress.
func (s *Session) IsReconnecting() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.liveLocked()
	return s.state == stWaiting || s.state == stReconnecting
}

// CanPublish reports whether Publish would accept a message now: connected and no publish in
// flight.
func (s *Session) CanPublish() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.liveLocked() && s.pub == nil
}

// A connection is dead for the session, and so for the script, as soon as the device finds it
// dead (docs/device-semantics.md, "When a connection is declared dead"): every read or write
// failure of the guard (a failed write, the broker's close or reset, a local close, paho's
// keepalive closing it) calls connFailed on the goroutine that saw it, and the state queries
// and operations check the guard's dead flag first (liveLocked), so nothing can observe the
// window between the failure and its report. lostLocked then, in one critical section, completes
// the operations in flight with 11, emits close and schedules the reconnection; paho's own
// OnConnectionLost, which comes later, finds the connection already dropped.

// liveLocked reports whether a connection is open, first declaring the open connection lost
// when its socket has failed.
func (s *Session) liveLocked() bool {
	if s.state == stConnected && s.conn.att.socketFailed() {
		s.lostLocked(s.conn)
	}
	return s.state == stConnected
}

// connFailed declares the open connection lost if it is attempt a's: I/O on it failed. Called
// without s.mu from the goroutine that saw the failure (paho's reader or writer, a flush).
func (s *Session) connFailed(a *attempt) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.connFailedLocked(a)
}

// connFailedLocked is connFailed with s.mu held.
func (s *Session) connFailedLocked(a *attempt) {
	if c := s.conn; c != nil && c.att == a {
		s.lostLocked(c)
	}
}

// ErrnoConnect returns errnoConnect: the result of the latest finished connection attempt
// (0 after a success, and 0 before the first attempt has finished).
func (s *Session) ErrnoConnect() Errno {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.errno
}

// Stats returns the session's counters.
func (s *Session) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// ClientID returns the MQTT client identifier in use (generated when Options.ClientID is "").
func (s *Session) ClientID() string { return s.clientID }

// Reconnect starts a manual reconnection: after reconnectPeriod a Reconnect event and a new
// attempt. It does nothing while an attempt is in progress or a reconnection is already
// pending, and after End. While connected it drops the connection (Close event) first.
func (s *Session) Reconnect() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.liveLocked() // a failed socket is a loss, with its own reconnection
	switch s.state {
	case stConnected:
		c := s.conn
		s.dropConnLocked(c)
		s.trace(TraceEvent{Kind: TraceClose})
		s.post(s.ev.Close)
		s.disconnectAsync(c)
	case stIdle:
	default: // connecting, waiting, reconnecting, ended
		return
	}
	s.autoLeft = s.autoBudget()
	s.scheduleLocked()
}

// End ends the session: the End event now, then any pending reconnection is cancelled, an
// attempt in progress is aborted, an open connection is closed with DISCONNECT, operations
// in flight complete with Disconnected, and the session resource is given back in the
// background; released (may be nil) runs through the executor once it is. After End no other
// event is emitted and every method is a no-op or returns Disconnected.
func (s *Session) End(released func()) {
	s.mu.Lock()
	if s.endCalled {
		s.mu.Unlock()
		if released != nil {
			go func() {
				<-s.released
				s.h.exec(released)
			}()
		}
		return
	}
	s.endCalled = true
	s.state = stEnded
	s.trace(TraceEvent{Kind: TraceEnd})
	s.post(s.ev.End)
	s.stopTimerLocked()
	if a := s.att; a != nil {
		s.att = nil
		a.abort()
	}
	c := s.conn
	if c != nil {
		s.dropConnLocked(c)
	}
	s.mu.Unlock()

	go func() {
		if c != nil {
			c.client.Disconnect(disconnectQuiesceMs)
		}
		s.wg.Wait()
		s.h.release()
		close(s.released)
		if released != nil {
			s.h.exec(released)
		}
	}()
}

// scheduleLocked waits reconnectPeriod (device time), then starts a reconnection attempt.
func (s *Session) scheduleLocked() {
	s.state = stWaiting
	s.timerSeq++
	seq := s.timerSeq
	s.trace(TraceEvent{Kind: TraceReconnectWait, Wait: max(s.opts.ReconnectPeriod, 0)})
	if s.opts.ReconnectPeriod <= 0 {
		// No wait; never rely on a Clock running f on its own goroutine for d == 0, since
		// waitElapsed takes the lock held here.
		go s.waitElapsed(seq)
		s.timerStop = nil
		return
	}
	s.timerStop = s.h.clock.AfterFunc(s.opts.ReconnectPeriod, func() { s.waitElapsed(seq) })
}

func (s *Session) stopTimerLocked() {
	if s.timerStop != nil {
		s.timerStop()
		s.timerStop = nil
	}
	s.timerSeq++
}

// waitElapsed ends a reconnectPeriod wait: Reconnect event and a new attempt.
func (s *Session) waitElapsed(seq uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != stWaiting || seq != s.timerSeq {
		return
	}
	s.timerStop = nil
	s.state = stReconnecting
	s.stats.Reconnects++
	s.trace(TraceEvent{Kind: TraceReconnect})
	s.post(s.ev.Reconnect)
	s.startAttemptLocked()
}

// disconnectQuiesceMs bounds how long a DISCONNECT may take to be written on End or on a
// Reconnect while connected.
const disconnectQuiesceMs = 250

// disconnectAsync closes a dropped connection's paho client in the background.
func (s *Session) disconnectAsync(c *connection) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		c.client.Disconnect(disconnectQuiesceMs)
	}()
}

// connectTimeoutWall bounds paho's own (wall-clock) CONNACK deadline; the device
// connectTimeout is enforced in device time by the attempt's timer.
const connectTimeoutWall = 24 * time.Hour
