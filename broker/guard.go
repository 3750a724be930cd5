package broker

import (
	"bytes"
	"net"
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
	byID   map[string]map[*connEntry]struct{}
}

type connEntry struct {
	id   string
	cl   *mqtt.Client
	done chan struct{}
}

func newSessionGuard(srv *mqtt.Server) *sessionGuard {
	return &sessionGuard{srv: srv, byConn: map[net.Conn]*connEntry{}, byID: map[string]map[*connEntry]struct{}{}}
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
	e := &connEntry{id: cl.ID, cl: cl, done: make(chan struct{})}
	g.mu.Lock()
	var prev []*connEntry
	for p := range g.byID[cl.ID] {
		prev = append(prev, p)
	}
	if g.byID[cl.ID] == nil {
		g.byID[cl.ID] = map[*connEntry]struct{}{}
	}
	g.byID[cl.ID][e] = struct{}{}
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
	for _, p := range prev {
		select {
		case <-p.done:
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
	delete(g.byID[e.id], e)
	if len(g.byID[e.id]) == 0 {
		delete(g.byID, e.id)
	}
	close(e.done)
}
