package devicejs_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/devicejs/devicejs"
	"github.com/devicejs/devicejs/broker"
)

// Example_talkToDevice is the program of docs/embedding.md ("Talking to a device from Go"): Go
// sends a command to a device script through the embedded broker and reads its reply, and
// OnEvent sees the payloads.
func Example_talkToDevice() {
	b, err := broker.New(broker.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()
	// The script says "ready" once subscribed; Go then sends it a command.
	unsubReady, err := b.Subscribe("dev1/ready", func(broker.Message) {
		if err := b.Publish("dev1/cmd", []byte("blink"), 1, false); err != nil {
			log.Print(err)
		}
	})
	if err != nil {
		log.Fatal(err)
	}
	defer unsubReady()
	replies := make(chan broker.Message, 1)
	unsubReply, err := b.Subscribe("dev1/reply", func(m broker.Message) { replies <- m })
	if err != nil {
		log.Fatal(err)
	}
	defer unsubReply()
	if err := b.Start(); err != nil {
		log.Fatal(err)
	}

	script := devicejs.Script{Name: "device.js", Source: `
var c = mqtt.connect('mqtt://broker:1883', {clientId: 'dev1'});
c.on('connect', function() {
  c.subscribe('dev1/cmd', {qos: 1}, function() { c.publish('dev1/ready', '', {qos: 1}); });
});
c.on('message', function(topic, message) {
  c.publish('dev1/reply', 'done: ' + message, {qos: 1}, function() { c.end(); });
});`}
	_, err = devicejs.Run(context.Background(), script, devicejs.Config{
		Embedded: b,
		Stdout:   os.Stdout,
		For:      time.Minute,
		// Message and publish_done events carry a copy of the payload.
		EventPayloads: true,
		OnEvent: func(e devicejs.Event) {
			if e.Kind == devicejs.EventMessage || e.Kind == devicejs.EventPublishDone {
				fmt.Printf("event %s %s %q\n", e.Kind, e.Topic, e.Payload)
			}
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	m := <-replies
	fmt.Printf("Go got %s %s from %s\n", m.Topic, m.Payload, m.ClientID)
	// Output:
	// event publish_done dev1/ready ""
	// event message dev1/cmd "blink"
	// event publish_done dev1/reply "done: blink"
	// Go got dev1/reply done: blink from dev1
}
