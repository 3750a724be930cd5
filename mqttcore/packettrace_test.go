package mqttcore_test

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/devicejs/devicejs/internal/testbroker"
	"github.com/devicejs/devicejs/mqttcore"
)

// packetLog collects the trace and packet trace of a host.
type packetLog struct {
	mu     sync.Mutex
	events []mqttcore.TraceEvent
}

func (l *packetLog) add(e mqttcore.TraceEvent) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, e)
}

func (l *packetLog) all() []mqttcore.TraceEvent {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.events)
}

// packets returns the packet events as "dir PACKET" strings.
func (l *packetLog) packets() []string {
	var out []string
	for _, e := range l.all() {
		if e.Kind == mqttcore.TracePacket {
			out = append(out, e.Dir+" "+e.Packet)
		}
	}
	return out
}

// find returns the first event matching ok.
func (l *packetLog) find(ok func(mqttcore.TraceEvent) bool) (mqttcore.TraceEvent, bool) {
	for _, e := range l.all() {
		if ok(e) {
			return e, true
		}
	}
	return mqttcore.TraceEvent{}, false
}

// waitFor waits until an event matching ok was traced.
func (l *packetLog) waitFor(t *testing.T, what string, ok func(mqttcore.TraceEvent) bool) mqttcore.TraceEvent {
	t.Helper()
	var e mqttcore.TraceEvent
	if !testbroker.Eventually(waitFor, func() (found bool) { e, found = l.find(ok); return found }) {
		t.Fatalf("no %s traced; packets: %q; all: %s", what, l.packets(), l.kinds())
	}
	return e
}

// tracedHost returns a host (fast clock) whose trace and packet trace go to a new packetLog.
func tracedHost() (*mqttcore.Host, *packetLog) {
	l := &packetLog{}
	h := mqttcore.NewHost(mqttcore.HostConfig{Clock: fastClock{scale: 100}, Trace: l.add, PacketTrace: l.add})
	return h, l
}

// isSubsequence reports whether want appears in got in order (other entries may come between).
func isSubsequence(got, want []string) bool {
	i := 0
	for _, g := range got {
		if i < len(want) && g == want[i] {
			i++
		}
	}
	return i == len(want)
}

func isPacket(dir, packet string) func(mqttcore.TraceEvent) bool {
	return func(e mqttcore.TraceEvent) bool {
		return e.Kind == mqttcore.TracePacket && e.Dir == dir && e.Packet == packet
	}
}

// TestPacketTraceConversation runs every packet type devicejs sends or receives against mochi
// over a real socket and checks the packet trace: order, direction and each packet's fields.
func TestPacketTraceConversation(t *testing.T) {
	b := startMochi(t, nil)
	h, log := tracedHost()
	r := newRecorder()
	o := fastOptions()
	// A PINGREQ after 3 to 3.75 s of quiet. Not 1 s: mochi's read deadline is keepalive +
	// keepalive/2 in whole seconds, 1 s for keepalive 1, and paho pings only after 1 s.
	o.KeepAlive = 3 * time.Second
	o.Username, o.Password = strp("device-user"), strp("s3cret-pass")
	s := connected(t, h, b.URL(), o, r)

	if err := s.Subscribe("pt/#", mqttcore.SubscribeOptions{QoS: 1}, r.done("sub")); err != nil {
		t.Fatal(err)
	}
	r.expect(t, "sub 0")
	pubs := []struct {
		qos         byte
		retain, dup bool
		payload     string
	}{{0, false, false, "zero"}, {1, true, false, "one"}, {2, false, true, "two!"}}
	for _, p := range pubs {
		if err := s.Publish("pt/q", []byte(p.payload), mqttcore.PublishOptions{QoS: p.qos, Retain: p.retain, Dup: p.dup}, r.done("pub")); err != nil {
			t.Fatal(err)
		}
		got := []string{r.next(t), r.next(t)} // the completion and the echo, in either order
		slices.Sort(got)
		want := []string{fmt.Sprintf("message pt/q %s false", p.payload), "pub 0"}
		if !slices.Equal(got, want) {
			t.Fatalf("qos %d: events %q, want %q", p.qos, got, want)
		}
	}
	log.waitFor(t, "PINGRESP", isPacket(mqttcore.DirRecv, "PINGRESP"))
	if err := s.Unsubscribe("pt/#", r.done("unsub")); err != nil {
		t.Fatal(err)
	}
	r.expect(t, "unsub 0")
	endAndWait(t, s)
	r.expect(t, "end")
	log.waitFor(t, "DISCONNECT", isPacket(mqttcore.DirSend, "DISCONNECT"))

	// Causal order: each packet below can only come after the one before it.
	chain := []string{"send CONNECT", "recv CONNACK", "send SUBSCRIBE", "recv SUBACK",
		"send PUBLISH", "send PUBLISH", "recv PUBACK", "send PUBLISH", "recv PUBREC", "send PUBREL",
		"recv PUBCOMP", "send PINGREQ", "recv PINGRESP", "send UNSUBSCRIBE", "recv UNSUBACK", "send DISCONNECT"}
	if got := log.packets(); !isSubsequence(got, chain) {
		t.Fatalf("packets %q\nwant in order %q", got, chain)
	}

	events := log.all()
	var sent, recv []mqttcore.TraceEvent // PUBLISH packets
	for _, e := range events {
		if e.Kind != mqttcore.TracePacket {
			continue
		}
		if e.ClientID != s.ClientID() || e.Broker != b.URL() || e.Time.IsZero() || e.Size < 2 {
			t.Errorf("packet %+v: identity, time or size missing", e)
		}
		if e.Packet == "PUBLISH" && e.Dir == mqttcore.DirSend {
			sent = append(sent, e)
		} else if e.Packet == "PUBLISH" {
			recv = append(recv, e)
		}
	}
	if len(sent) != 3 || len(recv) != 3 {
		t.Fatalf("%d PUBLISH sent, %d received, want 3 and 3", len(sent), len(recv))
	}
	for i, p := range pubs {
		e := sent[i]
		if e.QoS != p.qos || e.Retain != p.retain || e.Dup != (p.dup && p.qos > 0) || e.Topic != "pt/q" ||
			e.Bytes != len(p.payload) || e.HasID != (p.qos > 0) || (p.qos > 0 && e.PacketID == 0) ||
			e.Size != 2+2+len("pt/q")+len(p.payload)+map[bool]int{true: 2}[p.qos > 0] || e.Err != "" {
			t.Errorf("sent PUBLISH %d: %+v", i, e)
		}
		// The subscription is QoS 1: the broker delivers at most QoS 1.
		if want := min(p.qos, 1); recv[i].QoS != want || recv[i].Topic != "pt/q" || recv[i].Bytes != len(p.payload) {
			t.Errorf("received PUBLISH %d: %+v, want QoS %d", i, recv[i], want)
		}
	}
	for _, q := range []struct {
		name string
		ok   func(mqttcore.TraceEvent) bool
	}{
		{"CONNECT fields", func(e mqttcore.TraceEvent) bool {
			return isPacket("send", "CONNECT")(e) && e.ProtocolLevel == 4 && e.KeepAlive == 3 && e.CleanSession &&
				e.Username && e.Password && !e.Will
		}},
		{"CONNACK accepted", func(e mqttcore.TraceEvent) bool {
			return isPacket("recv", "CONNACK")(e) && e.ReturnCode == 0 && !e.SessionPresent && e.Size == 4
		}},
		{"SUBSCRIBE fields", func(e mqttcore.TraceEvent) bool {
			return isPacket("send", "SUBSCRIBE")(e) && e.Topic == "pt/#" && e.QoS == 1 && e.Filters == 1 && e.HasID
		}},
		{"SUBACK granted QoS 1", func(e mqttcore.TraceEvent) bool {
			return isPacket("recv", "SUBACK")(e) && slices.Equal(e.Granted, []byte{1}) && e.HasID
		}},
		{"PUBACK of our QoS 1 publish", func(e mqttcore.TraceEvent) bool {
			return isPacket("recv", "PUBACK")(e) && e.HasID && e.PacketID == sent[1].PacketID && e.Size == 4
		}},
		{"PUBACK of the broker's QoS 1 delivery", func(e mqttcore.TraceEvent) bool {
			return isPacket("send", "PUBACK")(e) && e.HasID && e.PacketID == recv[1].PacketID
		}},
		{"PUBREL of our QoS 2 publish", func(e mqttcore.TraceEvent) bool {
			return isPacket("send", "PUBREL")(e) && e.PacketID == sent[2].PacketID
		}},
		{"UNSUBSCRIBE fields", func(e mqttcore.TraceEvent) bool {
			return isPacket("send", "UNSUBSCRIBE")(e) && e.Topic == "pt/#" && e.Filters == 1 && e.HasID
		}},
	} {
		if _, ok := log.find(q.ok); !ok {
			t.Errorf("%s: no such packet event", q.name)
		}
	}
	// recv PUBACK comes before the publish_done it causes.
	var order []string
	for _, e := range events {
		switch {
		case isPacket("recv", "PUBACK")(e) && e.PacketID == sent[1].PacketID:
			order = append(order, "puback")
		case e.Kind == mqttcore.TracePublishDone && len(order) == 1:
			order = append(order, "done")
		}
	}
	if !slices.Equal(order, []string{"puback", "done"}) {
		t.Errorf("recv PUBACK / publish_done order %q", order)
	}
	if dump := fmt.Sprintf("%+v", events); strings.Contains(dump, "s3cret-pass") || strings.Contains(dump, "device-user") {
		t.Error("a credential appears in the trace")
	}
}

// TestPacketTraceOffByDefault checks that a host without PacketTrace emits no packet events
// through Trace.
func TestPacketTraceOffByDefault(t *testing.T) {
	b := startMochi(t, nil)
	l := &packetLog{}
	h := mqttcore.NewHost(mqttcore.HostConfig{Clock: fastClock{scale: 100}, Trace: l.add})
	r := newRecorder()
	s := connected(t, h, b.URL(), fastOptions(), r)
	if err := s.Publish("x", []byte("y"), mqttcore.PublishOptions{QoS: 1}, r.done("pub")); err != nil {
		t.Fatal(err)
	}
	r.expect(t, "pub 0")
	endAndWait(t, s)
	r.expect(t, "end")
	if p := l.packets(); len(p) != 0 {
		t.Fatalf("packet events without PacketTrace: %q", p)
	}
}

func (l *packetLog) kinds() string {
	var b strings.Builder
	for _, e := range l.all() {
		fmt.Fprintf(&b, "%s/%s%s %s %d; ", e.Kind, e.Dir, e.Packet, e.Err, e.Code)
	}
	return b.String()
}
