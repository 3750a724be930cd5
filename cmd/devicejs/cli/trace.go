package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/devicejs/devicejs/mqttcore"
)

// tracer writes the MQTT trace of a run (--trace to stderr, --trace-json to a file). Device-time
// offsets are measured from start, the device time at which the run began.
type tracer struct {
	start time.Time
	text  io.Writer // nil: no text trace
	file  *os.File  // nil: no JSON trace
	enc   *json.Encoder

	mu sync.Mutex
}

func newTracer(opts *RunOptions, start time.Time) (*tracer, error) {
	t := &tracer{start: start}
	if opts.Trace {
		t.text = opts.IO.ErrOut
	}
	if opts.TraceJSON != "" {
		f, err := os.Create(opts.TraceJSON)
		if err != nil {
			return nil, fmt.Errorf("--trace-json: %w", err)
		}
		t.file, t.enc = f, json.NewEncoder(f)
	}
	return t, nil
}

// trace returns the hook for devicejs.Config.Trace, or nil when nothing is traced.
func (t *tracer) trace() func(mqttcore.TraceEvent) {
	if t.text == nil && t.enc == nil {
		return nil
	}
	return t.write
}

// Close flushes and closes the JSON file.
func (t *tracer) Close() error {
	if t.file == nil {
		return nil
	}
	return t.file.Close()
}

// traceRecord is one line of --trace-json. Field names are a public format: add, never rename.
type traceRecord struct {
	T          float64 `json:"t"`    // device seconds since the run started
	Time       string  `json:"time"` // device time, RFC 3339 with nanoseconds
	Kind       string  `json:"kind"`
	ClientID   string  `json:"clientId"`
	Broker     string  `json:"broker"`
	Topic      string  `json:"topic,omitempty"`
	QoS        *byte   `json:"qos,omitempty"`
	Retain     bool    `json:"retain,omitempty"`
	Binary     bool    `json:"binary,omitempty"`
	Bytes      *int    `json:"bytes,omitempty"`
	Code       *int    `json:"code,omitempty"`
	ReturnCode *byte   `json:"returnCode,omitempty"`
	Errno      *int    `json:"errno,omitempty"`
	WaitMS     *int64  `json:"waitMs,omitempty"`
	Err        string  `json:"error,omitempty"`

	// Packet records (kind "packet"; packet and id also for "protocol_error"), docs/trace.md.
	Dir            string  `json:"dir,omitempty"`
	Packet         string  `json:"packet,omitempty"`
	Size           *int    `json:"size,omitempty"`
	ID             *uint16 `json:"id,omitempty"`
	Dup            bool    `json:"dup,omitempty"`
	Filters        *int    `json:"filters,omitempty"`
	Granted        []int   `json:"granted,omitempty"`
	SessionPresent bool    `json:"sessionPresent,omitempty"`
	ProtocolLevel  *byte   `json:"protocolLevel,omitempty"`
	KeepAlive      *uint16 `json:"keepAlive,omitempty"`
	CleanSession   bool    `json:"cleanSession,omitempty"`
	Username       bool    `json:"username,omitempty"`
	Password       bool    `json:"password,omitempty"`
	Will           bool    `json:"will,omitempty"`
}

func (t *tracer) write(e mqttcore.TraceEvent) {
	r := traceRecord{
		T:        e.Time.Sub(t.start).Seconds(),
		Time:     e.Time.UTC().Format(time.RFC3339Nano),
		Kind:     string(e.Kind),
		ClientID: e.ClientID,
		Broker:   e.Broker,
		Topic:    e.Topic,
		Err:      e.Err,
	}
	if e.Kind == mqttcore.TracePacket {
		packetRecord(&r, e)
	}
	if e.Kind == mqttcore.TraceProtocolError {
		r.Packet = e.Packet
		if e.HasID {
			r.ID = &e.PacketID
		}
	}
	switch e.Kind {
	case mqttcore.TracePublish, mqttcore.TraceSubscribe:
		r.QoS = &e.QoS
		r.Retain = e.Retain
	}
	switch e.Kind {
	case mqttcore.TracePublish, mqttcore.TraceMessage, mqttcore.TraceDiscarded, mqttcore.TraceDropped:
		r.Bytes = &e.Bytes
		r.Binary = e.Binary
	case mqttcore.TracePublishDone, mqttcore.TraceSuback, mqttcore.TraceUnsuback, mqttcore.TraceError:
		c := int(e.Code)
		r.Code = &c
	case mqttcore.TraceConnectFailed:
		n := int(e.Errno)
		r.Errno, r.ReturnCode = &n, &e.ReturnCode
	case mqttcore.TraceConnack:
		r.ReturnCode = &e.ReturnCode
	case mqttcore.TraceReconnectWait:
		ms := e.Wait.Milliseconds()
		r.WaitMS = &ms
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.enc != nil {
		_ = t.enc.Encode(r)
	}
	if t.text != nil {
		if r.Kind == string(mqttcore.TracePacket) {
			fmt.Fprintln(t.text, formatPacket(r))
		} else {
			fmt.Fprintln(t.text, formatTrace(r))
		}
	}
}

// packetRecord fills in the fields of a packet event e that its packet type carries.
func packetRecord(r *traceRecord, e mqttcore.TraceEvent) {
	r.Dir, r.Packet, r.Size = e.Dir, e.Packet, &e.Size
	if e.HasID {
		r.ID = &e.PacketID
	}
	switch e.Packet {
	case "CONNECT":
		if e.Err == "" {
			r.ProtocolLevel, r.KeepAlive = &e.ProtocolLevel, &e.KeepAlive
		}
		r.CleanSession, r.Username, r.Password, r.Will = e.CleanSession, e.Username, e.Password, e.Will
	case "CONNACK":
		if e.Err == "" {
			r.ReturnCode = &e.ReturnCode
		}
		r.SessionPresent = e.SessionPresent
	case "PUBLISH":
		r.QoS, r.Bytes = &e.QoS, &e.Bytes
		r.Dup, r.Retain = e.Dup, e.Retain
	case "SUBSCRIBE":
		r.QoS, r.Filters = &e.QoS, &e.Filters
	case "UNSUBSCRIBE":
		r.Filters = &e.Filters
	case "SUBACK":
		if e.Granted != nil {
			r.Granted = make([]int, len(e.Granted))
			for i, g := range e.Granted {
				r.Granted[i] = int(g)
			}
		}
	}
}

// formatPacket is the --trace line of a packet record, e.g.
// "trace +0.003s recv SUBACK mqtt://broker:1883 mqttjs_01234567 size=5 id=1 granted=[1]".
func formatPacket(r traceRecord) string {
	var b strings.Builder
	fmt.Fprintf(&b, "trace +%.3fs %s %s %s %s", r.T, r.Dir, r.Packet, r.Broker, r.ClientID)
	if r.Size != nil {
		fmt.Fprintf(&b, " size=%d", *r.Size)
	}
	if r.ID != nil {
		fmt.Fprintf(&b, " id=%d", *r.ID)
	}
	if r.Topic != "" {
		fmt.Fprintf(&b, " topic=%s", r.Topic)
	}
	if r.QoS != nil {
		fmt.Fprintf(&b, " qos=%d", *r.QoS)
	}
	for _, f := range []struct {
		on   bool
		name string
	}{{r.Dup, "dup"}, {r.Retain, "retain"}} {
		if f.on {
			b.WriteString(" " + f.name)
		}
	}
	if r.Bytes != nil {
		fmt.Fprintf(&b, " bytes=%d", *r.Bytes)
	}
	if r.Filters != nil {
		fmt.Fprintf(&b, " filters=%d", *r.Filters)
	}
	if r.Granted != nil {
		fmt.Fprintf(&b, " granted=%v", r.Granted)
	}
	if r.ReturnCode != nil {
		fmt.Fprintf(&b, " returnCode=%d", *r.ReturnCode)
	}
	if r.ProtocolLevel != nil {
		fmt.Fprintf(&b, " protocolLevel=%d", *r.ProtocolLevel)
	}
	if r.KeepAlive != nil {
		fmt.Fprintf(&b, " keepAlive=%d", *r.KeepAlive)
	}
	for _, f := range []struct {
		on   bool
		name string
	}{{r.SessionPresent, "sessionPresent"}, {r.CleanSession, "cleanSession"}, {r.Username, "username"},
		{r.Password, "password"}, {r.Will, "will"}} {
		if f.on {
			b.WriteString(" " + f.name)
		}
	}
	if r.Err != "" {
		fmt.Fprintf(&b, " error=%q", r.Err)
	}
	return b.String()
}

// formatTrace is the --trace line of r, e.g.
// "trace +1.250s publish mqtt://broker:1883 mqttjs_01234567 topic=a/b qos=1 bytes=5".
func formatTrace(r traceRecord) string {
	var b strings.Builder
	fmt.Fprintf(&b, "trace +%.3fs %s %s %s", r.T, r.Kind, r.Broker, r.ClientID)
	if r.Packet != "" {
		fmt.Fprintf(&b, " packet=%s", r.Packet)
	}
	if r.ID != nil {
		fmt.Fprintf(&b, " id=%d", *r.ID)
	}
	if r.Topic != "" {
		fmt.Fprintf(&b, " topic=%s", r.Topic)
	}
	if r.QoS != nil {
		fmt.Fprintf(&b, " qos=%d", *r.QoS)
	}
	if r.Retain {
		b.WriteString(" retain")
	}
	if r.Bytes != nil {
		fmt.Fprintf(&b, " bytes=%d", *r.Bytes)
	}
	if r.Binary {
		b.WriteString(" binary")
	}
	if r.Code != nil {
		fmt.Fprintf(&b, " code=%d", *r.Code)
	}
	if r.ReturnCode != nil {
		fmt.Fprintf(&b, " returnCode=%d", *r.ReturnCode)
	}
	if r.Errno != nil {
		fmt.Fprintf(&b, " errnoConnect=%d", *r.Errno)
	}
	if r.WaitMS != nil {
		fmt.Fprintf(&b, " wait=%dms", *r.WaitMS)
	}
	if r.Err != "" {
		fmt.Fprintf(&b, " error=%q", r.Err)
	}
	return b.String()
}
