package trace_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/devicejs/devicejs/mqttcore"
	"github.com/devicejs/devicejs/trace"
)

var start = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

const (
	broker = "mqtt://foo.bar:1883"
	client = "mqttjs_09722222"
)

func at(ms int) time.Time { return start.Add(time.Duration(ms) * time.Millisecond) }

// events is one of each shape the writer must carry, with the --trace line docs/trace.md
// gives for it (written by hand from the documented format, not by the code under test).
var events = []struct {
	e    mqttcore.TraceEvent
	text string
}{
	{mqttcore.TraceEvent{Time: at(2), Kind: mqttcore.TraceConnectAttempt, ClientID: client, Broker: broker},
		"trace +0.002s connect_attempt mqtt://foo.bar:1883 mqttjs_09722222"},
	{mqttcore.TraceEvent{Time: at(2), Kind: mqttcore.TracePacket, ClientID: client, Broker: broker, Dir: "send",
		Packet: "CONNECT", Size: 31, ProtocolLevel: 4, KeepAlive: 60, CleanSession: true},
		"trace +0.002s send CONNECT mqtt://foo.bar:1883 mqttjs_09722222 size=31 protocolLevel=4 keepAlive=60 cleanSession"},
	{mqttcore.TraceEvent{Time: at(3), Kind: mqttcore.TracePacket, ClientID: client, Broker: broker, Dir: "recv",
		Packet: "CONNACK", Size: 4},
		"trace +0.003s recv CONNACK mqtt://foo.bar:1883 mqttjs_09722222 size=4 returnCode=0"},
	{mqttcore.TraceEvent{Time: at(4), Kind: mqttcore.TraceConnack, ClientID: client, Broker: broker},
		"trace +0.004s connack mqtt://foo.bar:1883 mqttjs_09722222 returnCode=0"},
	{mqttcore.TraceEvent{Time: at(6), Kind: mqttcore.TraceSubscribe, ClientID: client, Broker: broker,
		Topic: "testtopic/subtopic/#", QoS: 1},
		"trace +0.006s subscribe mqtt://foo.bar:1883 mqttjs_09722222 topic=testtopic/subtopic/# qos=1"},
	{mqttcore.TraceEvent{Time: at(6), Kind: mqttcore.TracePacket, ClientID: client, Broker: broker, Dir: "send",
		Packet: "SUBSCRIBE", Size: 30, PacketID: 1, HasID: true, Topic: "testtopic/subtopic/#", QoS: 1, Filters: 1},
		"trace +0.006s send SUBSCRIBE mqtt://foo.bar:1883 mqttjs_09722222 size=30 id=1 topic=testtopic/subtopic/# qos=1 filters=1"},
	{mqttcore.TraceEvent{Time: at(7), Kind: mqttcore.TracePacket, ClientID: client, Broker: broker, Dir: "recv",
		Packet: "SUBACK", Size: 5, PacketID: 1, HasID: true, Granted: []byte{1}},
		"trace +0.007s recv SUBACK mqtt://foo.bar:1883 mqttjs_09722222 size=5 id=1 granted=[1]"},
	{mqttcore.TraceEvent{Time: at(1250), Kind: mqttcore.TracePublish, ClientID: client, Broker: broker,
		Topic: "a/b", QoS: 0, Bytes: 5, Binary: true, Retain: true},
		"trace +1.250s publish mqtt://foo.bar:1883 mqttjs_09722222 topic=a/b qos=0 retain bytes=5 binary"},
	{mqttcore.TraceEvent{Time: at(1300), Kind: mqttcore.TracePublishDone, ClientID: client, Broker: broker,
		Topic: "a/b", Code: 11, Err: "connection lost"},
		`trace +1.300s publish_done mqtt://foo.bar:1883 mqttjs_09722222 topic=a/b code=11 error="connection lost"`},
	{mqttcore.TraceEvent{Time: at(2000), Kind: mqttcore.TraceConnectFailed, ClientID: client, Broker: broker,
		Errno: 5, ReturnCode: 5, Err: "not authorized"},
		`trace +2.000s connect_failed mqtt://foo.bar:1883 mqttjs_09722222 returnCode=5 errnoConnect=5 error="not authorized"`},
	{mqttcore.TraceEvent{Time: at(2000), Kind: mqttcore.TraceReconnectWait, ClientID: client, Broker: broker,
		Wait: 1500 * time.Millisecond},
		"trace +2.000s reconnect_wait mqtt://foo.bar:1883 mqttjs_09722222 wait=1500ms"},
	{mqttcore.TraceEvent{Time: at(2100), Kind: mqttcore.TraceProtocolError, ClientID: client, Broker: broker,
		Packet: "SUBACK", PacketID: 7, HasID: true, Err: "2 return codes for 1 filter"},
		`trace +2.100s protocol_error mqtt://foo.bar:1883 mqttjs_09722222 packet=SUBACK id=7 error="2 return codes for 1 filter"`},
}

// TestRecordRoundTrip: an event written as a JSON line and read back is the same event; its
// text line is the documented one.
func TestRecordRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for _, tc := range events {
		r := trace.FromEvent(tc.e, start)
		if got := r.Text(); got != tc.text {
			t.Errorf("text:\n got %s\nwant %s", got, tc.text)
		}
		if err := enc.Encode(r); err != nil {
			t.Fatal(err)
		}
	}
	buf.WriteString("not json\n{\"kind\":\n")
	var back []mqttcore.TraceEvent
	if err := trace.Read(&buf, func(r trace.Record) { back = append(back, r.Event()) }); err != nil {
		t.Fatal(err)
	}
	if len(back) != len(events) {
		t.Fatalf("read %d events, wrote %d", len(back), len(events))
	}
	for i, tc := range events {
		if !reflect.DeepEqual(back[i], tc.e) {
			t.Errorf("event %d:\n got %+v\nwant %+v", i, back[i], tc.e)
		}
	}
}

// TestReadBoundsLines: a line over MaxLine ends the reading with bufio.ErrTooLong, after the
// records before it, and the rest of the stream is drained.
func TestReadBoundsLines(t *testing.T) {
	line := `{"kind":"connack","time":"2026-01-01T00:00:00Z"}` + "\n"
	r := strings.NewReader(line + `{"topic":"` + strings.Repeat("x", trace.MaxLine) + `"}` + "\n" + line)
	n := 0
	err := trace.Read(r, func(trace.Record) { n++ })
	if !errors.Is(err, bufio.ErrTooLong) || n != 1 || r.Len() != 0 {
		t.Fatalf("err %v, %d records, %d bytes left", err, n, r.Len())
	}
}
