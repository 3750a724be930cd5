package devicejs_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/devicejs/devicejs"
	"github.com/devicejs/devicejs/broker"
	"github.com/devicejs/devicejs/internal/testbroker"
	"github.com/devicejs/devicejs/mqttcore"
)

// talkScript subscribes to cmd/#, announces itself on "ready", answers each command on ack/<x>
// with "got <payload>" at QoS %d, and ends after one.
const talkScript = `
var c = mqtt.connect('mqtt://broker:1883', {clientId: 'dev-talk', recvBuffSize: %[2]d, sendBuffSize: %[2]d});
var ready = false, got = null; // one publish in flight at a time: the ack waits for "ready" to complete
function ack() {
  if (!ready || !got) return;
  c.publish('ack/' + got[0].slice(4), 'got ' + got[1], {qos: %[1]d}, function() { c.end(); });
  got = null;
}
c.on('connect', function() {
  c.subscribe('cmd/#', {qos: %[1]d}, function() {
    c.publish('ready', 'yes', {qos: %[1]d}, function() { ready = true; ack(); });
  });
});
c.on('message', function(topic, message) {
  print(topic + ' ' + message.length + ' ' + String(message).slice(0, 8));
  got = [topic, message];
  ack();
});`

// TestTalkToDeviceFromGo: Go publishes to the topic a device script subscribed to and the
// script sees it; a Go subscriber sees what the script publishes; Clients lists the device;
// message and publish_done events carry copied, bounded payloads.
func TestTalkToDeviceFromGo(t *testing.T) {
	tt := []struct {
		name    string
		qos     byte
		payload string
	}{
		{"qos 0", 0, "on"},
		{"qos 1", 1, "on"},
		{"qos 1 over the event bound", 1, strings.Repeat("z", devicejs.MaxEventPayload+100)},
	}
	for _, tc := range tt {
		t.Run(tc.name, func(t *testing.T) {
			b := testbroker.MochiConfig(t, broker.Config{})
			var mu sync.Mutex
			var clients []broker.ClientInfo
			var acks []broker.Message
			var pubErr error
			readyDone := make(chan struct{})
			unsubReady, err := b.Subscribe("ready", func(broker.Message) {
				defer close(readyDone)
				mu.Lock()
				clients = b.Clients()
				mu.Unlock()
				pubErr = b.Publish("cmd/led", []byte(tc.payload), tc.qos, false)
			})
			if err != nil {
				t.Fatal(err)
			}
			defer unsubReady()
			unsubAck, err := b.Subscribe("ack/+", func(m broker.Message) {
				mu.Lock()
				acks = append(acks, m)
				mu.Unlock()
				panic("a gateway bug") // recovered; the broker and the run go on
			})
			if err != nil {
				t.Fatal(err)
			}
			defer unsubAck()
			var events []devicejs.Event
			var out bytes.Buffer
			buf := max(len(tc.payload)+64, 512)
			res, err := devicejs.Run(context.Background(), devicejs.Script{Name: "talk.js", Source: fmt.Sprintf(talkScript, tc.qos, buf)},
				devicejs.Config{Embedded: b, Stdout: &out, For: 15 * time.Second, Limits: mqttcore.Limits{MaxBuffSize: 1 << 20},
					EventPayloads: true,
					OnEvent: func(e devicejs.Event) {
						if e.Kind == devicejs.EventMessage && len(e.Payload) > 0 {
							e.Payload[0] = 'X' // the event's own copy: the script still sees the original
						}
						events = append(events, e)
					}})
			if err != nil {
				t.Fatal(err)
			}
			if res.Ending != devicejs.Finished {
				t.Fatalf("ending %v: %v; stats %+v; printed %q; events %v; broker %+v", res.Ending, res.Err, res.Stats, out.String(), events, b.DeliveryStats())
			}
			want := fmt.Sprintf("cmd/led %d %s\n", len(tc.payload), tc.payload[:min(8, len(tc.payload))])
			if out.String() != want {
				t.Errorf("script printed %q, want %q", out.String(), want)
			}
			// The ack reaches Go on the broker's goroutine.
			testbroker.Eventually(10*time.Second, func() bool { mu.Lock(); defer mu.Unlock(); return len(acks) > 0 })
			<-readyDone
			mu.Lock()
			defer mu.Unlock()
			if pubErr != nil {
				t.Fatal(pubErr)
			}
			if len(clients) != 1 || clients[0].ID != "dev-talk" || !clients[0].Connected || clients[0].Subscriptions != 1 {
				t.Errorf("Clients() = %+v", clients)
			}
			if len(acks) != 1 || acks[0].Topic != "ack/led" || string(acks[0].Payload) != "got "+tc.payload ||
				acks[0].ClientID != "dev-talk" || acks[0].QoS != tc.qos {
				t.Errorf("Go subscriber got %d messages, first %.40v", len(acks), acks)
			}
			if s := b.DeliveryStats(); s.Panics != 1 {
				t.Errorf("DeliveryStats %+v, want the 1 panic recovered", s)
			}
			var msg, done *devicejs.Event
			for i := range events {
				switch {
				case events[i].Kind == devicejs.EventMessage:
					msg = &events[i]
				case events[i].Kind == devicejs.EventPublishDone && events[i].Topic == "ack/led":
					done = &events[i]
				}
			}
			if msg == nil || done == nil {
				t.Fatalf("events %v: no message or no publish_done for ack/led", events)
			}
			check := func(e *devicejs.Event, full string, first byte) {
				t.Helper()
				n := min(len(full), devicejs.MaxEventPayload)
				if e.Bytes != len(full) || len(e.Payload) != n || e.Truncated != (len(full) > n) ||
					e.Payload[0] != first || string(e.Payload[1:]) != full[1:n] {
					t.Errorf("%s event: Bytes %d, %d payload bytes, truncated %v, starts %.8q",
						e.Kind, e.Bytes, len(e.Payload), e.Truncated, e.Payload)
				}
			}
			check(msg, tc.payload, 'X')
			check(done, "got "+tc.payload, 'g')
		})
	}
}
