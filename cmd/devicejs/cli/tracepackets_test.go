package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// packetRecord is a --trace-json line with the packet fields (docs/trace.md).
type packetRecord struct {
	T              float64 `json:"t"`
	Kind           string  `json:"kind"`
	ClientID       string  `json:"clientId"`
	Broker         string  `json:"broker"`
	Dir            string  `json:"dir"`
	Packet         string  `json:"packet"`
	Size           *int    `json:"size"`
	ID             *int    `json:"id"`
	QoS            *int    `json:"qos"`
	Dup            bool    `json:"dup"`
	Retain         bool    `json:"retain"`
	Topic          string  `json:"topic"`
	Bytes          *int    `json:"bytes"`
	Filters        *int    `json:"filters"`
	Granted        []int   `json:"granted"`
	ReturnCode     *int    `json:"returnCode"`
	ProtocolLevel  *int    `json:"protocolLevel"`
	KeepAlive      *int    `json:"keepAlive"`
	CleanSession   bool    `json:"cleanSession"`
	Username       bool    `json:"username"`
	Password       bool    `json:"password"`
	SessionPresent bool    `json:"sessionPresent"`
}

// TestTracePackets runs a script that uses every operation against the embedded broker and
// checks the packet records of --trace-json and the packet lines of --trace (issue 12 item 5).
func TestTracePackets(t *testing.T) {
	t.Parallel()
	src := `var c = mqtt.connect('mqtt://broker.local:1883', {username: 'u', password: 'pw-MARKER', keepalive: 30, reconnectCount: 0});
c.on('connect', function() {
  c.subscribe('p/#', {qos: 2}, function(err) {
    c.publish('p/a', 'hello', {qos: 2, retain: true, dup: true}, function(err) {
      print('pub ' + err.code);
      c.unsubscribe('p/#', function(err) { c.end(); });
    });
  });
});
`
	dir := t.TempDir()
	jsonPath := filepath.Join(dir, "trace.jsonl")
	r := runBinary(t, "run", "--broker", "embedded", "--for", "20s", "--trace", "--trace-json", jsonPath, script(t, "packets.js", src))
	if r.code != 0 || !strings.Contains(r.stdout, "pub 0") {
		t.Fatalf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	data, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	var packets []string
	var recs []packetRecord
	for line := range strings.SplitSeq(strings.TrimSpace(string(data)), "\n") {
		var rec packetRecord
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		if rec.Kind != "packet" {
			continue
		}
		if rec.Size == nil || rec.Broker != "mqtt://broker.local:1883" || rec.ClientID == "" || (rec.Dir != "send" && rec.Dir != "recv") {
			t.Errorf("packet record lacks common fields: %s", line)
		}
		packets = append(packets, rec.Dir+" "+rec.Packet)
		recs = append(recs, rec)
	}
	want := []string{"send CONNECT", "recv CONNACK", "send SUBSCRIBE", "recv SUBACK", "send PUBLISH", "recv PUBREC",
		"send PUBREL", "recv PUBCOMP", "send UNSUBSCRIBE", "recv UNSUBACK", "send DISCONNECT"}
	i := 0
	for _, p := range packets {
		if i < len(want) && p == want[i] {
			i++
		}
	}
	if i != len(want) {
		t.Fatalf("packets %q, want in order %q", packets, want)
	}
	find := func(dir, packet string) packetRecord {
		for _, rec := range recs {
			if rec.Dir == dir && rec.Packet == packet {
				return rec
			}
		}
		t.Fatalf("no %s %s", dir, packet)
		return packetRecord{}
	}
	if c := find("send", "CONNECT"); c.ProtocolLevel == nil || *c.ProtocolLevel != 4 || c.KeepAlive == nil || *c.KeepAlive != 30 ||
		!c.CleanSession || !c.Username || !c.Password {
		t.Errorf("CONNECT %+v", c)
	}
	if c := find("recv", "CONNACK"); c.ReturnCode == nil || *c.ReturnCode != 0 || *c.Size != 4 {
		t.Errorf("CONNACK %+v", c)
	}
	if s := find("send", "SUBSCRIBE"); s.Topic != "p/#" || s.QoS == nil || *s.QoS != 2 || s.ID == nil || s.Filters == nil || *s.Filters != 1 {
		t.Errorf("SUBSCRIBE %+v", s)
	}
	if s := find("recv", "SUBACK"); !slices.Equal(s.Granted, []int{2}) {
		t.Errorf("SUBACK granted %v, want [2]", s.Granted)
	}
	p := find("send", "PUBLISH")
	if p.Topic != "p/a" || p.QoS == nil || *p.QoS != 2 || !p.Dup || !p.Retain || p.Bytes == nil || *p.Bytes != 5 || p.ID == nil {
		t.Errorf("PUBLISH %+v", p)
	}
	for _, k := range []string{"recv PUBREC", "send PUBREL", "recv PUBCOMP"} {
		dir, packet, _ := strings.Cut(k, " ")
		if a := find(dir, packet); a.ID == nil || *a.ID != *p.ID {
			t.Errorf("%s id %v, want the PUBLISH's %d", k, a.ID, *p.ID)
		}
	}
	for _, w := range []string{" send CONNECT mqtt://broker.local:1883 ", " recv SUBACK mqtt://broker.local:1883 ", "granted=[2]",
		"topic=p/a qos=2 dup retain bytes=5", " recv PUBCOMP ", " send DISCONNECT "} {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("--trace lacks %q:\n%s", w, r.stderr)
		}
	}
	for _, out := range []string{r.stderr, string(data)} {
		if strings.Contains(out, "pw-MARKER") {
			t.Error("the password appears in the trace")
		}
	}
}
