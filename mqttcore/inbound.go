package mqttcore

import "sync/atomic"

// The bound of a session's inbound queue: the messages received and handed to the Executor
// but not yet delivered to the Message event (on a device runtime, the messages waiting for
// the script's loop while a callback runs). A message that would take the queue past either
// bound is dropped and counted (Stats.DroppedForQueue, TraceDropped), as the device drops a
// message that does not fit its receive buffer (recvBuffSize); see docs/reliability.md,
// "Inbound flood".
const (
	// MaxInboundMessages is the most messages a session's inbound queue holds.
	MaxInboundMessages = 8192
	// MaxInboundBytes is the most bytes a session's inbound queue holds, each message counted
	// as len(topic) + len(payload) + HeaderOverhead.
	MaxInboundBytes = 1 << 20
)

// TraceDropped is a received PUBLISH dropped because the session's inbound queue was full
// (MaxInboundMessages, MaxInboundBytes): Topic, Bytes.
const TraceDropped TraceKind = "dropped"

// inboundQueue counts the messages of a session posted to the Executor and not yet delivered.
// admit runs under the session's lock; release runs on the Executor. Safe from any goroutine.
type inboundQueue struct {
	messages atomic.Int64
	bytes    atomic.Int64
}

// admit reserves room for a message of cost bytes; false (nothing reserved) when it does not
// fit. A message alone always fits (HostLimits allow messages larger than MaxInboundBytes).
func (q *inboundQueue) admit(cost int) bool {
	n := q.messages.Load()
	if n >= MaxInboundMessages || n > 0 && q.bytes.Load()+int64(cost) > MaxInboundBytes {
		return false
	}
	q.messages.Add(1)
	q.bytes.Add(int64(cost))
	return true
}

// release gives back the room of a delivered message of cost bytes.
func (q *inboundQueue) release(cost int) {
	q.messages.Add(-1)
	q.bytes.Add(-int64(cost))
}

// inboundCost is what a message counts against MaxInboundBytes.
func inboundCost(topic string, payload []byte) int {
	return len(topic) + len(payload) + HeaderOverhead
}
