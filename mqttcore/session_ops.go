package mqttcore

import (
	"errors"
	"sync"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/devicejs/devicejs/internal/mqttwire"
)

// connection is one open MQTT connection (one paho client). Operations are tied to it: when
// it is dropped they complete with Disconnected, whatever paho does with their tokens later.
type connection struct {
	s      *Session
	client paho.Client
	att    *attempt
	lost   chan struct{} // closed (under s.mu) when the connection is dropped
	issued chan struct{} // closed once the latest operation was handed to paho (FIFO chain)
	ended  chan struct{} // closed once the latest operation has completed (FIFO chain)

	// Guarded by s.mu: keeping messages in wire order with completions through paho
	// (guardread.go, receiveLocked).
	acksToPaho uint64        // acknowledgements the guard handed to paho
	pahoDone   uint64        // of those, the ones whose completion has been reported
	held       []heldMessage // messages waiting for earlier acknowledgements' completions

	// Guarded by s.mu: the direct QoS 1 publish awaiting its PUBACK (direct.go), and what
	// lets the operations issued after it proceed.
	directPub  *op
	directDone func()
	// Guarded by s.mu: the operation the broker answered with a protocol violation
	// (packetacks.go); dropConnLocked completes it with its failure code (12, 13, 14).
	violated *op
	// Guarded by s.mu: the keepalive (keepalive.go; nil with keepalive 0), and why the
	// connection was declared dead when the close trace has something to say ("" otherwise).
	ka       *keepAlive
	closeErr string

	mu          sync.Mutex
	established bool // connectedLocked ran
	lostEarly   bool // paho reported the loss before connectedLocked ran
	dropped     bool
}

// heldMessage is a message read after an acknowledgement whose completion is not reported yet.
type heldMessage struct {
	topic   string
	payload []byte
	after   uint64 // acksToPaho when it was read
}

// isGone reports whether the connection is dropped or its socket has failed.
func (c *connection) isGone() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.dropped || c.att.socketFailed()
}

type opKind int

const (
	opPublish opKind = iota
	opSubscribe
	opUnsubscribe
)

// failCode is the completion code of a failed operation of this kind.
func (k opKind) failCode() Code {
	switch k {
	case opPublish:
		return PublishFailed
	case opSubscribe:
		return SubscribeFailed
	}
	return UnsubscribeFailed
}

// op is an accepted publish, subscribe or unsubscribe; done is called exactly once.
type op struct {
	kind    opKind
	topic   string
	payload []byte
	qos     byte
	retain  bool
	dup     bool
	done    func(Code)
	fin     bool
	direct  bool       // written by the session itself (direct.go); no paho token
	tok     paho.Token // guarded by s.mu: paho's token once handed to paho (dropConnLocked)
}

// Publish sends a message. It refuses (returning the Code, never calling done) with
// IllegalArgument for an invalid topic name, QoS or a message that does not fit sendBuffSize
// (len(topic)+len(payload)+9), Disconnected when not connected, and PublishFailed while
// another publish is in flight (see CanPublish). Otherwise done (may be nil) is called once:
// 0 when the message is in the connection's send buffer or written (QoS 0; direct.go),
// PUBACKed (QoS 1) or PUBCOMPed (QoS 2); Disconnected
// if the connection is lost or the session ended first; PublishFailed on another failure.
// o.Dup sets the DUP flag of a QoS 1 or 2 PUBLISH; MQTT requires DUP 0 for QoS 0, so there
// it is ignored. payload must not be modified after the call.
func (s *Session) Publish(topic string, payload []byte, o PublishOptions, done func(Code)) error {
	if ValidateTopicName(topic) != nil || o.Validate() != nil ||
		!PublishFits(topic, len(payload), s.opts.SendBuffSize) {
		return IllegalArgument
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.liveLocked() {
		return Disconnected
	}
	if s.pub != nil {
		return PublishFailed
	}
	op := &op{kind: opPublish, topic: topic, payload: payload, qos: o.QoS, retain: o.Retain, dup: o.Dup, done: done}
	s.pub = op
	if !s.publishDirectLocked(op) {
		s.issueLocked(op)
	}
	return nil
}

// Subscribe subscribes to filter. It refuses with IllegalArgument for an invalid filter or
// QoS, Disconnected when not connected, and SubscribeFailed when the connection already holds
// Limits.MaxSubscriptions other filters. Subscribing to a held filter again updates its QoS
// and binary flag. done gets 0 on a granted SUBACK, SubscribeFailed on a refused one (0x80) or
// another failure, Disconnected if the connection is lost or the session ended first.
// Subscriptions belong to the connection: a new connection starts with none.
func (s *Session) Subscribe(filter string, o SubscribeOptions, done func(Code)) error {
	if ValidateTopicFilter(filter) != nil || o.Validate() != nil {
		return IllegalArgument
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.liveLocked() {
		return Disconnected
	}
	op := &op{kind: opSubscribe, topic: filter, qos: o.QoS, done: done}
	if sub := s.findSubLocked(filter); sub != nil {
		sub.qos, sub.binary = o.QoS, o.Binary
	} else {
		if len(s.subs) >= s.h.limits.MaxSubscriptions {
			return SubscribeFailed
		}
		s.subs = append(s.subs, &subscription{filter: filter, qos: o.QoS, binary: o.Binary, owner: op})
	}
	s.issueLocked(op)
	return nil
}

// Unsubscribe unsubscribes from filter. It refuses with IllegalArgument for an invalid filter
// and Disconnected when not connected. The filter stops counting against the subscription
// limit at once; done gets 0 on UNSUBACK, UnsubscribeFailed on a failure, Disconnected if the
// connection is lost or the session ended first.
func (s *Session) Unsubscribe(filter string, done func(Code)) error {
	if ValidateTopicFilter(filter) != nil {
		return IllegalArgument
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.liveLocked() {
		return Disconnected
	}
	for i, sub := range s.subs {
		if sub.filter == filter {
			s.subs = append(s.subs[:i:i], s.subs[i+1:]...)
			break
		}
	}
	s.issueLocked(&op{kind: opUnsubscribe, topic: filter, done: done})
	return nil
}

func (s *Session) findSubLocked(filter string) *subscription {
	for _, sub := range s.subs {
		if sub.filter == filter {
			return sub
		}
	}
	return nil
}

// issueLocked hands op to paho on a goroutine (paho calls may block for up to writeTimeout)
// and waits for its token or the loss of the connection, whichever comes first. Two FIFO
// chains keep the issue order both for handing operations to paho and for reporting their
// completions (brokers acknowledge in order).
func (s *Session) issueLocked(o *op) {
	c := s.conn
	s.ops = append(s.ops, o)
	s.trace(o.traceIssue())
	prevIssued, prevEnded := c.issued, c.ended
	issued, ended := make(chan struct{}), make(chan struct{})
	c.issued, c.ended = issued, ended
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer close(ended)
		var tok paho.Token
		select {
		case <-prevIssued:
			select {
			case <-c.lost:
			default:
				tok = s.callPahoUnlessLost(c, o)
			}
			if tok != nil {
				s.mu.Lock()
				o.tok = tok
				s.mu.Unlock()
			}
		case <-c.lost:
		}
		close(issued)
		if tok == nil {
			return // completed by dropConnLocked
		}
		select {
		case <-tok.Done():
		case <-c.lost:
			return
		}
		select {
		case <-prevEnded:
			s.finish(c, o, tok)
		case <-c.lost:
		}
	}()
}

// callPahoUnlessLost hands o to paho and returns its token, or nil once the connection is
// dropped first. paho's Publish and Subscribe wait up to its WriteTimeout (10 s) to queue a
// packet, and when the connection dies just after they checked it, nothing will ever take the
// packet: they then return only at that timeout. The call runs on its own goroutine, which
// touches nothing of the session, so that the loss (and End's release of the session) does
// not wait for it; it ends by itself within the timeout.
func (s *Session) callPahoUnlessLost(c *connection, o *op) paho.Token {
	res := make(chan paho.Token, 1)
	go func() { res <- s.callPaho(c, o) }()
	select {
	case tok := <-res:
		return tok
	case <-c.lost:
		return nil
	}
}

func (s *Session) callPaho(c *connection, o *op) paho.Token {
	switch o.kind {
	case opPublish:
		if g := c.att.guardConn(); g != nil {
			g.dupNext.Store(o.dup && o.qos > 0)
		}
		return c.client.Publish(o.topic, o.qos, o.retain, o.payload)
	case opSubscribe:
		return c.client.Subscribe(o.topic, o.qos, nil)
	}
	return c.client.Unsubscribe(o.topic)
}

// finish completes op from its paho token.
func (s *Session) finish(c *connection, o *op, tok paho.Token) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if o.fin {
		return
	}
	code := OK
	if err := tok.Error(); err != nil {
		code = o.kind.failCode()
		if c.isGone() || errors.Is(err, paho.ErrNotConnected) {
			// The connection failed under paho: it is lost now, before this completion
			// (lostLocked completes o with the others in flight, then emits close).
			if s.conn == c {
				s.lostLocked(c)
				return
			}
			code = Disconnected
		}
	} else {
		code = grantedCode(o, tok)
	}
	if o == c.violated {
		code = o.kind.failCode() // the broker broke the protocol (packetacks.go)
	}
	if o.kind == opSubscribe {
		for i, sub := range s.subs {
			if sub.owner == o {
				if code != OK {
					s.subs = append(s.subs[:i:i], s.subs[i+1:]...)
				} else {
					sub.owner = nil
				}
				break
			}
		}
	}
	for i, x := range s.ops {
		if x == o {
			s.ops = append(s.ops[:i:i], s.ops[i+1:]...)
			break
		}
	}
	if code == OK && o.kind == opPublish {
		s.stats.Published++
	}
	s.completeLocked(o, code)
	c.pahoDone = min(c.pahoDone+1, c.acksToPaho)
	s.flushHeldLocked(c)
}

// grantedCode is the completion code of o from its paho token tok, completed without error:
// 0, or SubscribeFailed for a SUBSCRIBE refused (0x80) or without a return code for its filter
// (the token was completed by an acknowledgement of another type, which the guard can only
// check once the SUBSCRIBE is written).
func grantedCode(o *op, tok paho.Token) Code {
	if st, ok := tok.(*paho.SubscribeToken); ok {
		if rc, ok := st.Result()[o.topic]; !ok || rc == 0x80 || rc > 2 {
			return SubscribeFailed
		}
	}
	return OK
}

// acknowledgedLocked reports whether paho completed o's token without error: its
// acknowledgement was read before the connection was lost (paho completes the tokens of the
// packets it has read before it reports the loss), even if finish has not run yet.
func (o *op) acknowledgedLocked() bool {
	if o.tok == nil {
		return false
	}
	select {
	case <-o.tok.Done():
		return o.tok.Error() == nil
	default:
		return false
	}
}

// completeLocked calls op's done with code through the executor, once.
func (s *Session) completeLocked(o *op, code Code) {
	if o.fin {
		return
	}
	o.fin = true
	s.trace(o.traceDone(code))
	if s.pub == o {
		s.pub = nil
	}
	if d := o.done; d != nil {
		s.post(func() { d(code) })
	}
}

// onMessage is paho's publish handler for connection c. The guard handles every PUBLISH itself
// (guardread.go), so this only runs for a connection without one.
func (s *Session) onMessage(c *connection, m paho.Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.receiveLocked(c, m.Topic(), m.Payload())
}

// onPublishLocked handles a message received on connection c: size check, routing, post.
// payload is not used by anything else.
func (s *Session) onPublishLocked(c *connection, topic string, payload []byte) {
	if s.conn != c || s.state != stConnected {
		return
	}
	if !ReceiveFits(topic, len(payload), s.opts.RecvBuffSize) {
		s.stats.DiscardedForSize++
		s.trace(TraceEvent{Kind: TraceDiscarded, Topic: topic, Bytes: len(payload)})
		return
	}
	binary := false
	for _, sub := range s.subs {
		if mqttwire.TopicMatch(sub.filter, topic) {
			binary = sub.binary
			break
		}
	}
	ev := s.ev.Message
	cost := inboundCost(topic, payload)
	if ev != nil && !s.inbound.admit(cost) {
		s.stats.DroppedForQueue++
		s.trace(TraceEvent{Kind: TraceDropped, Topic: topic, Bytes: len(payload)})
		return
	}
	s.stats.Received++
	s.trace(TraceEvent{Kind: TraceMessage, Topic: topic, Bytes: len(payload), Binary: binary, Payload: payload})
	if ev != nil {
		s.post(func() {
			s.inbound.release(cost)
			ev(topic, payload, binary)
		})
	}
}

// traceIssue is the trace event of handing o to the connection.
func (o *op) traceIssue() TraceEvent {
	switch o.kind {
	case opPublish:
		return TraceEvent{Kind: TracePublish, Topic: o.topic, QoS: o.qos, Retain: o.retain, Bytes: len(o.payload)}
	case opSubscribe:
		return TraceEvent{Kind: TraceSubscribe, Topic: o.topic, QoS: o.qos}
	}
	return TraceEvent{Kind: TraceUnsubscribe, Topic: o.topic}
}

// traceDone is the trace event of o's completion with code.
func (o *op) traceDone(code Code) TraceEvent {
	k := TraceUnsuback
	switch o.kind {
	case opPublish:
		k = TracePublishDone
	case opSubscribe:
		k = TraceSuback
	}
	return TraceEvent{Kind: k, Topic: o.topic, Code: code, Payload: o.payload}
}
