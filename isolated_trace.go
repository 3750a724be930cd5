package devicejs

import (
	"bufio"
	"encoding/json"
	"io"
	"time"

	"github.com/devicejs/devicejs/mqttcore"
)

// traceLine is one line of `devicejs run --trace-json` (docs/trace.md; the fields RunIsolated
// decodes back into an mqttcore.TraceEvent).
type traceLine struct {
	Time           string  `json:"time"`
	Kind           string  `json:"kind"`
	ClientID       string  `json:"clientId"`
	Broker         string  `json:"broker"`
	Topic          string  `json:"topic"`
	QoS            byte    `json:"qos"`
	Retain         bool    `json:"retain"`
	Binary         bool    `json:"binary"`
	Bytes          int     `json:"bytes"`
	Code           int     `json:"code"`
	ReturnCode     byte    `json:"returnCode"`
	Errno          int     `json:"errno"`
	WaitMS         int64   `json:"waitMs"`
	Err            string  `json:"error"`
	Dir            string  `json:"dir"`
	Packet         string  `json:"packet"`
	Size           int     `json:"size"`
	ID             *uint16 `json:"id"`
	Dup            bool    `json:"dup"`
	Filters        int     `json:"filters"`
	Granted        []int   `json:"granted"`
	SessionPresent bool    `json:"sessionPresent"`
	ProtocolLevel  byte    `json:"protocolLevel"`
	KeepAlive      uint16  `json:"keepAlive"`
	CleanSession   bool    `json:"cleanSession"`
	Username       bool    `json:"username"`
	Password       bool    `json:"password"`
	Will           bool    `json:"will"`
}

// maxTraceLine bounds one trace line (a line past it ends the reading; the child goes on).
const maxTraceLine = 1 << 20

// readTrace decodes the trace lines of r into events for f until r ends. A line that does not
// decode is skipped.
func readTrace(r io.Reader, f func(mqttcore.TraceEvent)) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxTraceLine)
	for sc.Scan() {
		var l traceLine
		if json.Unmarshal(sc.Bytes(), &l) != nil {
			continue
		}
		f(l.event())
	}
	_, _ = io.Copy(io.Discard, r) // after a line too long: keep the child from blocking on the pipe
}

// event is l as a TraceEvent.
func (l *traceLine) event() mqttcore.TraceEvent {
	t, _ := time.Parse(time.RFC3339Nano, l.Time)
	e := mqttcore.TraceEvent{
		Time: t, Kind: mqttcore.TraceKind(l.Kind), ClientID: l.ClientID, Broker: l.Broker,
		Topic: l.Topic, QoS: l.QoS, Retain: l.Retain, Binary: l.Binary, Bytes: l.Bytes,
		Code: mqttcore.Code(l.Code), ReturnCode: l.ReturnCode, Errno: mqttcore.Errno(l.Errno),
		Wait: time.Duration(l.WaitMS) * time.Millisecond, Err: l.Err,
		Dir: l.Dir, Packet: l.Packet, Size: l.Size, Dup: l.Dup, Filters: l.Filters,
		SessionPresent: l.SessionPresent, ProtocolLevel: l.ProtocolLevel,
		KeepAlive: l.KeepAlive, CleanSession: l.CleanSession, Will: l.Will,
		Username: l.Username, Password: l.Password,
	}
	for _, g := range l.Granted {
		e.Granted = append(e.Granted, byte(g))
	}
	if l.ID != nil {
		e.PacketID, e.HasID = *l.ID, true
	}
	return e
}
