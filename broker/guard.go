package broker

import (
	"bytes"
	"net"
	"slices"
	"sync"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// guardWait bounds how long a connecting client waits for earlier
// connections with the same client id to finish.
const guardWait = 5 * time.Second

// sessionGuard serializes connections that share a client id.
//
// mochi races when a client reconnects with the same id while the old
// connection is still being cleaned up: the old connection's cleanup
// deletes by client id (Clients.Delete(id) and Topics.Unsubscribe(filter,
// id)), so when it runs after the new connection registered, it removes the
// new client from the client table or drops its fresh subscriptions, and
// nothing is delivered to it any more.
//
// Before mochi looks up the session of a new connection (OnSessionEstablish)
// the guard disconnects every earlier connection with the same id (as a
// session takeover, which mochi would do anyway) and waits until their
// goroutines have returned from mochi. mochi then sees a finished old
// session: gone for a clean session, kept (and inherited) for a persistent
// one.
type sessionGuard struct {
	mqtt.HookBase
	srv    *mqtt.Server
	mu     sync.Mutex
	byConn map[net.Conn]*connEntry
	byID   map[string][]*connEntry // almost always one: a slice, not a map per id
}

// connEntry is one connection in the guard. done is made only when a later connection with
// the same id waits for this one (a takeover), and closed by connDone; every idle device of an
// embedded fleet has an entry, so it holds no channel of its own.
type connEntry struct {
	id       string
	cl       *mqtt.Client
	done     chan struct{} // guarded by sessionGuard.mu
	finished bool          // guarded by sessionGuard.mu: connDone ran
}

func newSessionGuard(srv *mqtt.Server) *sessionGuard {
	return &sessionGuard{srv: srv, byConn: map[net.Conn]*connEntry{}, byID: map[string][]*connEntry{}}
}

// doneLocked returns the channel connDone closes for e; call with g.mu held.
func (e *connEntry) doneLocked() <-chan struct{} {
	if e.done == nil {
		e.done = make(chan struct{})
		if e.finished {
			close(e.done)
		}
	}
	return e.done
}

func (g *sessionGuard) ID() string { return "devicejs-session-guard" }

func (g *sessionGuard) Provides(b byte) bool {
	return bytes.Contains([]byte{mqtt.OnSessionEstablish}, []byte{b})
}

// OnSessionEstablish runs on the new connection's goroutine after
// authentication, before mochi looks up an existing session for its id.
func (g *sessionGuard) OnSessionEstablish(cl *mqtt.Client, _ packets.Packet) {
	if cl.Net.Conn == nil || cl.Net.Inline {
		return
	}
	e := &connEntry{id: cl.ID, cl: cl}
	g.mu.Lock()
	prev := g.byID[cl.ID]
	var waits []<-chan struct{}
	for _, p := range prev {
		waits = append(waits, p.doneLocked())
	}
	g.byID[cl.ID] = append(prev[:len(prev):len(prev)], e) // a new slice: prev stays as read
	g.byConn[cl.Net.Conn] = e
	g.mu.Unlock()
	if len(prev) == 0 {
		return
	}
	for _, p := range prev {
		_ = g.srv.DisconnectClient(p.cl, packets.ErrSessionTakenOver) // [MQTT-3.1.4-3]
	}
	t := time.NewTimer(guardWait)
	defer t.Stop()
	for _, done := range waits {
		select {
		case <-done:
		case <-t.C:
			return
		}
	}
}

// connDone is called by the listener once the connection's goroutine has
// returned from mochi, so its cleanup is complete.
func (g *sessionGuard) connDone(c net.Conn) {
	g.mu.Lock()
	defer g.mu.Unlock()
	e := g.byConn[c]
	if e == nil {
		return
	}
	delete(g.byConn, c)
	if rest := slices.DeleteFunc(slices.Clone(g.byID[e.id]), func(p *connEntry) bool { return p == e }); len(rest) > 0 {
		g.byID[e.id] = rest
	} else {
		delete(g.byID, e.id)
	}
	e.finished = true
	if e.done != nil {
		close(e.done)
	}
}
