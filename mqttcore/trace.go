package mqttcore

import "time"

// TraceKind names one action of a session in a TraceEvent. The values are stable strings (they
// appear in `devicejs run --trace-json` output).
type TraceKind string

// The actions reported to HostConfig.Trace, in the order a session performs them.
const (
	TraceConnectAttempt TraceKind = "connect_attempt" // a connection attempt starts (first or reconnection)
	TraceConnack        TraceKind = "connack"         // the broker accepted the connection (ReturnCode 0); the Connect event follows
	TraceConnectFailed  TraceKind = "connect_failed"  // an attempt failed: ReturnCode (CONNACK refusal, 0 if none), Errno, Err
	TraceSubscribe      TraceKind = "subscribe"       // SUBSCRIBE handed to the connection: Topic (filter), QoS
	TraceSuback         TraceKind = "suback"          // a subscribe completed: Topic, Code
	TraceUnsubscribe    TraceKind = "unsubscribe"     // UNSUBSCRIBE handed to the connection: Topic
	TraceUnsuback       TraceKind = "unsuback"        // an unsubscribe completed: Topic, Code
	TracePublish        TraceKind = "publish"         // PUBLISH handed to the connection: Topic, QoS, Retain, Bytes
	TracePublishDone    TraceKind = "publish_done"    // a publish completed (written, PUBACK or PUBCOMP): Topic, Code
	TraceMessage        TraceKind = "message"         // a PUBLISH was received and delivered: Topic, Bytes, Binary
	TraceDiscarded      TraceKind = "discarded"       // a received PUBLISH did not fit recvBuffSize: Topic, Bytes
	TraceClose          TraceKind = "close"           // the open connection was lost or dropped; Err says why when keepalive found it dead
	TraceReconnectWait  TraceKind = "reconnect_wait"  // waiting Wait (reconnectPeriod, device time) before reconnecting
	TraceReconnect      TraceKind = "reconnect"       // the wait elapsed: Reconnect event, a new attempt follows
	TraceError          TraceKind = "error"           // an attempt failed and no automatic retry follows: Code 1
	TraceEnd            TraceKind = "end"             // End was called

	// TracePacket is one MQTT control packet sent or received (HostConfig.PacketTrace only):
	// Dir, Packet, Size and the fields of that packet type (docs/trace.md).
	TracePacket TraceKind = "packet"
	// TraceProtocolError: the broker broke MQTT 3.1.1 (e.g. PUBACK for a QoS 2 PUBLISH):
	// Packet, PacketID, Err. The connection is closed; a Close event follows.
	TraceProtocolError TraceKind = "protocol_error"
)

// TraceEvent is one action of a session. Only the fields that the Kind's comment names are set.
// It never carries credentials (username, password) or key material.
type TraceEvent struct {
	Time       time.Time     // device time (HostConfig.Clock) of the action
	Kind       TraceKind     // what happened
	ClientID   string        // the session's MQTT client identifier
	Broker     string        // the session's broker URL, e.g. "mqtts://example.com:8883"
	Topic      string        // topic name or filter
	QoS        byte          // requested QoS
	Retain     bool          // publish retain flag
	Binary     bool          // the message is delivered as binary
	Bytes      int           // payload length
	Code       Code          // completion or error code
	ReturnCode byte          // CONNACK return code
	Errno      Errno         // errnoConnect of a failed attempt
	Wait       time.Duration // reconnect wait (device time)
	Err        string        // the underlying failure of a failed attempt, if any
	// Cause is the failure of a failed attempt as a Go error (TraceConnectFailed, and
	// TraceError, which also carries the attempt's Errno): the Dial error (wrapped by paho,
	// errors.Is finds it), a *ConnectTimeoutError, a TLS error... It is never written to a
	// trace (Err is its text).
	Cause error
	// Payload is the message's payload (TraceMessage, TracePublishDone), borrowed: the session
	// does not copy it for the trace, so a hook must neither modify it nor keep it after
	// returning (copy it to keep it). It is never written to a trace.
	Payload []byte

	// Packet fields (TracePacket; Packet and PacketID also for TraceProtocolError). Topic,
	// QoS, Retain, Bytes and ReturnCode above carry the packet's own values.
	Dir            string // DirSend or DirRecv
	Packet         string // control packet type, e.g. "PUBLISH" (PacketName)
	Size           int    // bytes of the whole packet, fixed header included
	PacketID       uint16 // packet identifier, when HasID
	HasID          bool   // the packet carries a packet identifier
	Dup            bool   // PUBLISH DUP flag
	Filters        int    // number of topic filters of a SUBSCRIBE or UNSUBSCRIBE
	Granted        []byte // SUBACK return codes (granted QoS or 0x80)
	SessionPresent bool   // CONNACK session present flag
	ProtocolLevel  byte   // CONNECT protocol level
	KeepAlive      uint16 // CONNECT keep alive, seconds
	CleanSession   bool   // CONNECT clean session flag
	Will           bool   // CONNECT will flag
	Username       bool   // CONNECT carries a user name (never its value)
	Password       bool   // CONNECT carries a password (never its value)
}

// trace reports e to HostConfig.Trace, if any, filling in the session's identity and the time.
// It is called with s.mu held, so a session's trace events keep the order of its actions.
func (s *Session) trace(e TraceEvent) {
	if s.h.trace == nil {
		return
	}
	if s.broker == "" {
		s.broker = s.ep.String() // once: trace runs on every publish and message
	}
	e.Time = s.h.clock.Now()
	e.ClientID = s.clientID
	e.Broker = s.broker
	s.h.trace(e)
}
