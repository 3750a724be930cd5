package devicejs_test

import (
	"context"
	"fmt"
	"log"
	"net"
	"os"
	"sync/atomic"
	"time"

	"github.com/devicejs/devicejs"
	"github.com/devicejs/devicejs/broker"
)

// Bring your own connection: Config.Dial opens every connection of the run; here the embedded
// broker's in-memory pipe, wrapped to count the attempts and to see the address the script
// asked for (a gateway would hand it its own transport).
func ExampleConfig_dial() {
	b, err := broker.New(broker.Config{})
	if err != nil {
		log.Fatal(err)
	}
	if err := b.Start(); err != nil {
		log.Fatal(err)
	}
	defer b.Close()
	var dials atomic.Int32
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		dials.Add(1)
		fmt.Println("dial", network, addr)
		return b.DialMemory(ctx)
	}
	res, err := devicejs.Run(context.Background(), devicejs.Script{Source: `
var c = mqtt.connect('mqtt://plant.example:1883');
c.on('connect', function() { c.publish('plant/up', '1', {qos: 1}, function() { c.end(); }); });`},
		devicejs.Config{Dial: dial, For: time.Minute})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Ending, res.Stats.Published, dials.Load())
	// Output:
	// dial tcp plant.example:1883
	// finished 1 1
}

// Link conditions: the same emulated link as --link, on device time, over any route. With
// 200 ms of latency each way a QoS 1 publish (PUBLISH, then PUBACK) completes at least 400 ms
// of device time after the connection; at TimeScale 100 that is about 4 ms of wall time.
func ExampleConfig_link() {
	b, err := broker.New(broker.Config{})
	if err != nil {
		log.Fatal(err)
	}
	if err := b.Start(); err != nil {
		log.Fatal(err)
	}
	defer b.Close()
	var connected, done time.Time // device time (Event.Time)
	res, err := devicejs.Run(context.Background(), devicejs.Script{Source: `
var c = mqtt.connect('mqtt://plant.example:1883');
c.on('connect', function() { c.publish('plant/up', '1', {qos: 1}, function() { c.end(); }); });`},
		devicejs.Config{Embedded: b, Link: "latency=200ms", LinkSeed: 1, TimeScale: 100, For: time.Hour,
			OnEvent: func(e devicejs.Event) {
				switch e.Kind {
				case devicejs.EventConnect:
					connected = e.Time
				case devicejs.EventPublishDone:
					done = e.Time
				}
			}})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Ending, done.Sub(connected) >= 400*time.Millisecond)
	// Output:
	// finished true
}

// Testing the gateway without a network: an embedded broker, a Go subscriber in place of the
// cloud, and device time 1000 times faster than the wall clock: ten device-minutes of a
// device reporting every minute run in about 0.6 s of wall time, with no socket.
func Example_testWithoutNetwork() {
	b, err := broker.New(broker.Config{})
	if err != nil {
		log.Fatal(err)
	}
	if err := b.Start(); err != nil {
		log.Fatal(err)
	}
	defer b.Close()
	var reports atomic.Int32
	unsubscribe, err := b.Subscribe("plant/+/temp", func(broker.Message) { reports.Add(1) })
	if err != nil {
		log.Fatal(err)
	}
	defer unsubscribe()
	res, err := devicejs.Run(context.Background(), devicejs.Script{Source: `
var c = mqtt.connect('mqtt://plant.example:1883', {clientId: 'pump1'});
c.on('connect', function() {
  setInterval(function() { c.publish('plant/pump1/temp', '21.5', {qos: 1}); }, 60000);
});`}, devicejs.Config{Embedded: b, TimeScale: 1000, For: 10*time.Minute + 30*time.Second, Stdout: os.Stdout})
	if err != nil {
		log.Fatal(err)
	}
	// The subscriber runs on its own goroutine: wait (bounded) for the last message.
	for i := 0; i < 500 && int64(reports.Load()) < int64(res.Stats.Published); i++ {
		time.Sleep(10 * time.Millisecond)
	}
	fmt.Println(res.Ending, res.Stats.Published, reports.Load())
	// Output:
	// for elapsed 10 10
}
