// Package trace is the MQTT trace format of devicejs, written once: the record of one trace
// event (a line of `devicejs run --trace-json`, docs/trace.md), its text form (a line of
// `--trace`), the conversion from and back to mqttcore.TraceEvent, and a reader of the JSON
// lines. The CLI writes it, process isolation (devicejs.RunIsolated) reads a child's trace
// back with it, and the report reads the same files. Record's JSON field names are a public
// format: fields are added, never renamed.
package trace

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/devicejs/devicejs/mqttcore"
)

// Record is one line of --trace-json. Pointer fields are omitted when the event does not
// carry them (a zero is a value, e.g. qos 0).
type Record struct {
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

// FromEvent is the record of e, its time measured from start (the device time at which the
// run began).
func FromEvent(e mqttcore.TraceEvent, start time.Time) Record {
	r := Record{
		T:        e.Time.Sub(start).Seconds(),
		Time:     e.Time.UTC().Format(time.RFC3339Nano),
		Kind:     string(e.Kind),
		ClientID: e.ClientID,
		Broker:   e.Broker,
		Topic:    e.Topic,
		Err:      e.Err,
	}
	if e.Kind == mqttcore.TracePacket {
		r.packet(e)
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
	return r
}

// packet fills in the fields of a packet event e that its packet type carries.
func (r *Record) packet(e mqttcore.TraceEvent) {
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

// Event is r as an mqttcore.TraceEvent (what FromEvent made it from, but for the fields the
// record does not carry: Cause, and Time to the nanosecond RFC 3339 keeps).
func (r Record) Event() mqttcore.TraceEvent {
	t, _ := time.Parse(time.RFC3339Nano, r.Time)
	e := mqttcore.TraceEvent{
		Time: t, Kind: mqttcore.TraceKind(r.Kind), ClientID: r.ClientID, Broker: r.Broker,
		Topic: r.Topic, Retain: r.Retain, Binary: r.Binary, Err: r.Err,
		Dir: r.Dir, Packet: r.Packet, Dup: r.Dup, SessionPresent: r.SessionPresent,
		CleanSession: r.CleanSession, Will: r.Will, Username: r.Username, Password: r.Password,
	}
	if r.QoS != nil {
		e.QoS = *r.QoS
	}
	if r.Bytes != nil {
		e.Bytes = *r.Bytes
	}
	if r.Code != nil {
		e.Code = mqttcore.Code(*r.Code)
	}
	if r.ReturnCode != nil {
		e.ReturnCode = *r.ReturnCode
	}
	if r.Errno != nil {
		e.Errno = mqttcore.Errno(*r.Errno)
	}
	if r.WaitMS != nil {
		e.Wait = time.Duration(*r.WaitMS) * time.Millisecond
	}
	if r.Size != nil {
		e.Size = *r.Size
	}
	if r.ID != nil {
		e.PacketID, e.HasID = *r.ID, true
	}
	if r.Filters != nil {
		e.Filters = *r.Filters
	}
	if r.ProtocolLevel != nil {
		e.ProtocolLevel = *r.ProtocolLevel
	}
	if r.KeepAlive != nil {
		e.KeepAlive = *r.KeepAlive
	}
	for _, g := range r.Granted {
		e.Granted = append(e.Granted, byte(g))
	}
	return e
}

// MaxLine bounds one JSON line Read accepts (a longer line ends the reading).
const MaxLine = 1 << 20

// Read decodes the JSON lines of r (a --trace-json file or stream) and calls f with each
// record, until r ends or a line is longer than MaxLine. A line that does not decode is
// skipped. After a line too long it drains r (a writer on a pipe must not block) and returns
// bufio.ErrTooLong.
func Read(r io.Reader, f func(Record)) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), MaxLine)
	for sc.Scan() {
		var rec Record
		if json.Unmarshal(sc.Bytes(), &rec) != nil {
			continue
		}
		f(rec)
	}
	err := sc.Err()
	if err != nil {
		_, _ = io.Copy(io.Discard, r)
	}
	return err
}

// Text is the --trace line of r, e.g.
// "trace +1.250s publish mqtt://broker:1883 mqttjs_01234567 topic=a/b qos=1 bytes=5", or for
// a packet "trace +0.003s recv SUBACK mqtt://broker:1883 mqttjs_01234567 size=5 id=1 granted=[1]".
func (r Record) Text() string {
	if r.Kind == string(mqttcore.TracePacket) {
		return r.packetText()
	}
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

// packetText is Text for a packet record.
func (r Record) packetText() string {
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
	flags(&b, flag{r.Dup, "dup"}, flag{r.Retain, "retain"})
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
	flags(&b, flag{r.SessionPresent, "sessionPresent"}, flag{r.CleanSession, "cleanSession"},
		flag{r.Username, "username"}, flag{r.Password, "password"}, flag{r.Will, "will"})
	if r.Err != "" {
		fmt.Fprintf(&b, " error=%q", r.Err)
	}
	return b.String()
}

// flag is a boolean field of a text line, written as its name when on.
type flag struct {
	on   bool
	name string
}

// flags writes " name" for each flag that is on.
func flags(b *strings.Builder, fs ...flag) {
	for _, f := range fs {
		if f.on {
			b.WriteString(" " + f.name)
		}
	}
}
