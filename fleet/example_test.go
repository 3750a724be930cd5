package fleet_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/devicejs/devicejs"
	"github.com/devicejs/devicejs/broker"
	"github.com/devicejs/devicejs/fleet"
)

// Example runs three devices from one script against an in-process broker, each with its own
// client id, and reads the summary.
func Example() {
	b, err := broker.New(broker.Config{})
	if err != nil {
		log.Fatal(err)
	}
	if err := b.Start(); err != nil {
		log.Fatal(err)
	}
	defer b.Close()

	f, err := fleet.New(fleet.Config{
		N:        3,
		ClientID: "sensor-{i}",
		Script: devicejs.Script{Name: "device.js", Source: `
var c = mqtt.connect('mqtt://broker.example:1883');
c.on('connect', function() {
  c.publish('sensors/reading', '21.5', {qos: 1}, function() { c.end(); });
});`},
		Device: devicejs.Config{Embedded: b, For: time.Minute},
		Stdout: os.Stdout,
	})
	if err != nil {
		log.Fatal(err)
	}
	sum, err := f.Run(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d connected, %d published, endings %v\n", sum.Connected, sum.Published, sum.Endings)
	// Output: 3 connected, 3 published, endings map[finished:3]
}
