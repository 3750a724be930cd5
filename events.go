package devicejs

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/devicejs/devicejs/mqttcore"
)

// EventKind names a host-visible MQTT event.
type EventKind string

// The events reported to Config.OnEvent.
const (
	EventConnect     EventKind = "connect"      // the broker accepted a connection (first or re-)
	EventClose       EventKind = "close"        // an established connection was lost or dropped
	EventPublishDone EventKind = "publish_done" // a publish completed; Code 0 on success
	EventMessage     EventKind = "message"      // a message was received and delivered to the script
	EventDiscarded   EventKind = "discarded"    // a received message did not fit recvBuffSize
	EventError       EventKind = "error"        // a connection attempt failed with no automatic retry left
	EventReconnect   EventKind = "reconnect"    // a reconnection attempt starts
	EventEnd         EventKind = "end"          // the session was ended (client.end() or the end of the run)
)

// Event is one MQTT event of a run, with its device-time timestamp.
type Event struct {
	Time     time.Time     // device time
	Kind     EventKind     // what happened
	ClientID string        // the session's MQTT client identifier
	Broker   string        // the session's broker URL as the script gave it (canonical form)
	Topic    string        // EventPublishDone, EventMessage, EventDiscarded
	Bytes    int           // payload length: EventMessage, EventDiscarded
	Code     mqttcore.Code // EventPublishDone (0 on success), EventError (1)
	// QoS and Latency (EventPublishDone): the publish's QoS and the wall time from its PUBLISH
	// being handed to the session to its completion (written for QoS 0, PUBACK, PUBCOMP, or
	// failure). A session has at most one publish in flight, so each completion is paired with
	// the latest issue of its run; Latency is 0 if none was seen.
	QoS     byte
	Latency time.Duration
	// Errno is errnoConnect of the attempt that failed last (EventError): 1 to 5 a CONNACK
	// refusal, 6 connection failed (refused, unreachable, connectTimeout), 7 TLS.
	Errno mqttcore.Errno
	// Err is why that attempt failed (EventError), e.g. the Dial error (errors.Is finds it
	// through the wrapping), a *mqttcore.ConnectTimeoutError, a TLS error or paho's CONNACK
	// refusal.
	Err error
	// Payload is a copy of the message's payload (EventMessage, EventPublishDone), cut to its
	// first MaxEventPayload bytes; Truncated reports the cut. Bytes is the full length (for
	// EventPublishDone too). The copy is the hook's own and is made only when OnEvent is set
	// and Config.EventPayloads asks for it. An isolated run's events carry no payload.
	Payload   []byte
	Truncated bool
}

// MaxEventPayload bounds Event.Payload: 64 KiB, a device's default receive buffer
// (recvBuffSize).
const MaxEventPayload = 64 << 10

// eventPayload returns a copy of p cut to MaxEventPayload bytes, and whether it was cut.
func eventPayload(p []byte) ([]byte, bool) {
	if p == nil {
		return nil, false
	}
	cut := len(p) > MaxEventPayload
	if cut {
		p = p[:MaxEventPayload]
	}
	return append([]byte{}, p...), cut
}

// Stats are a run's counters, summed over all its sessions.
type Stats struct {
	Published        uint64 // publishes completed with code 0
	Received         uint64 // messages delivered to the script
	DiscardedForSize uint64 // messages dropped because topic+payload+9 > recvBuffSize
	Reconnects       uint64 // reconnection attempts (reconnect events)
	// DroppedForQueue counts messages dropped because the queue of messages waiting for the
	// script (mqttcore.MaxInboundMessages, MaxInboundBytes) was full: a flood while a callback
	// ran.
	DroppedForQueue uint64
}

// eventKind maps the trace actions that are host events.
func eventKind(k mqttcore.TraceKind) (EventKind, bool) {
	switch k {
	case mqttcore.TraceConnack:
		return EventConnect, true
	case mqttcore.TraceClose:
		return EventClose, true
	case mqttcore.TracePublishDone:
		return EventPublishDone, true
	case mqttcore.TraceMessage:
		return EventMessage, true
	case mqttcore.TraceDiscarded:
		return EventDiscarded, true
	case mqttcore.TraceError:
		return EventError, true
	case mqttcore.TraceReconnect:
		return EventReconnect, true
	case mqttcore.TraceEnd:
		return EventEnd, true
	}
	return "", false
}

// observer turns a run's trace into counters, events and the host's own trace hook.
type observer struct {
	onEvent  func(Event)
	trace    func(mqttcore.TraceEvent)
	payloads bool // Config.EventPayloads: copy payloads into OnEvent's events

	mu    sync.Mutex // serializes onEvent and trace across sessions
	hooks *hooks     // the run's recovery of the host's callbacks; set before the run starts

	published, received, discarded, reconnects, dropped atomic.Uint64

	// Guarded by mu: the wall time and QoS of the publish in flight (Event.Latency); a device
	// holds one session at a time and a session one publish in flight.
	pubAt  time.Time
	pubQoS byte
}

// observe is the mqttcore.HostConfig.Trace of a run.
func (o *observer) observe(e mqttcore.TraceEvent) {
	switch e.Kind {
	case mqttcore.TracePublishDone:
		if e.Code == mqttcore.OK {
			o.published.Add(1)
		}
	case mqttcore.TraceMessage:
		o.received.Add(1)
	case mqttcore.TraceDiscarded:
		o.discarded.Add(1)
	case mqttcore.TraceReconnect:
		o.reconnects.Add(1)
	case mqttcore.TraceDropped:
		o.dropped.Add(1)
	}
	if o.onEvent == nil && o.trace == nil {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if e.Kind == mqttcore.TracePublish && o.onEvent != nil {
		o.pubAt, o.pubQoS = time.Now(), e.QoS
	}
	if o.trace != nil && o.hooks.ok(hTrace) {
		o.callTrace(e)
	}
	if k, ok := eventKind(e.Kind); ok && o.onEvent != nil && o.hooks.ok(hOnEvent) {
		ev := Event{Time: e.Time, Kind: k, ClientID: e.ClientID, Broker: e.Broker}
		switch k {
		case EventMessage, EventDiscarded:
			ev.Topic, ev.Bytes = e.Topic, e.Bytes
		case EventPublishDone:
			ev.Topic, ev.Code, ev.QoS = e.Topic, e.Code, o.pubQoS
			if !o.pubAt.IsZero() {
				ev.Latency = time.Since(o.pubAt)
				o.pubAt = time.Time{}
			}
		case EventError:
			ev.Code, ev.Errno, ev.Err = e.Code, e.Errno, e.Cause
		}
		if (k == EventMessage || k == EventPublishDone) && o.payloads {
			ev.Payload, ev.Truncated = eventPayload(e.Payload)
			ev.Bytes = len(e.Payload)
		}
		o.callOnEvent(ev)
	}
}

// callTrace calls the Trace hook, recovering a panic (HookError).
func (o *observer) callTrace(e mqttcore.TraceEvent) {
	defer func() { o.hooks.recovered(hTrace, recover()) }()
	e.Payload = nil // borrowed from the session: Config.Trace never sees payloads
	o.trace(e)
}

// callOnEvent calls the OnEvent hook, recovering a panic (HookError).
func (o *observer) callOnEvent(e Event) {
	defer func() { o.hooks.recovered(hOnEvent, recover()) }()
	o.onEvent(e)
}

func (o *observer) stats() Stats {
	return Stats{
		Published:        o.published.Load(),
		Received:         o.received.Load(),
		DiscardedForSize: o.discarded.Load(),
		Reconnects:       o.reconnects.Load(),
		DroppedForQueue:  o.dropped.Load(),
	}
}
