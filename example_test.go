package devicejs_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/devicejs/devicejs"
	"github.com/devicejs/devicejs/broker"
	"github.com/devicejs/devicejs/mqttcore"
	"github.com/devicejs/devicejs/runtime"
)

// Example is the program of docs/embedding.md (TestEmbeddingDocSnippet keeps them identical).
func Example() {
	b, err := broker.New(broker.Config{}) // an in-process broker, in-memory connections only
	if err != nil {
		log.Fatal(err)
	}
	if err := b.Start(); err != nil {
		log.Fatal(err)
	}
	defer b.Close()

	script := devicejs.Script{Name: "device.js", Source: `
var client = mqtt.connect('mqtt://broker.example:1883');
var pending = 2;
function settle() { if (--pending === 0) client.end(); }
client.on('connect', function() {
  client.subscribe('greetings/#', {qos: 1}, function() {
    client.publish('greetings/device', 'hello', {qos: 1}, settle);
  });
});
client.on('message', function(topic, message) {
  print(topic + ': ' + message);
  settle();
});
`}
	res, err := devicejs.Run(context.Background(), script, devicejs.Config{
		Stdout:   os.Stdout,
		Embedded: b,
		For:      time.Minute,
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Ending, res.Stats.Published, res.Stats.Received)
	// Output:
	// greetings/device: hello
	// finished 1 1
}

func ExampleRun() {
	res, err := devicejs.Run(context.Background(), devicejs.Script{Source: `
setTimeout(function() { print('30 s of device time later'); }, 30000);
`}, devicejs.Config{Stdout: os.Stdout, TimeScale: 1000})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Ending)
	// Output:
	// 30 s of device time later
	// finished
}

func ExampleNew() {
	d, err := devicejs.New(devicejs.Config{Stdout: os.Stdout, TimeScale: 1000, For: 10 * time.Second})
	if err != nil {
		log.Fatal(err)
	}
	res, err := d.Run(context.Background(), devicejs.Script{Source: `setInterval(function() {}, 1000);`})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Ending, res.Err)
	// Output: for elapsed <nil>
}

func ExampleDevice_Run() {
	d, err := devicejs.New(devicejs.Config{})
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(errors.New("service shutting down"))
	res, err := d.Run(ctx, devicejs.Script{Source: `setInterval(function() {}, 1000);`})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Ending, res.Err)
	// Output: canceled service shutting down
}

func ExampleDevice_Start() {
	d, err := devicejs.New(devicejs.Config{Stdout: os.Stdout, TimeScale: 1000})
	if err != nil {
		log.Fatal(err)
	}
	ended := make(chan devicejs.Result, 1)
	err = d.Start(context.Background(), devicejs.Script{Source: `
setTimeout(function() { print('a minute of device time later'); }, 60000);
`}, func(res devicejs.Result) { ended <- res })
	if err != nil {
		log.Fatal(err)
	}
	// Start has returned; the device holds no goroutine while it waits for its timer.
	fmt.Println((<-ended).Ending)
	// Output:
	// a minute of device time later
	// finished
}

func ExampleDevice_Stats() {
	b, err := broker.New(broker.Config{})
	if err != nil {
		log.Fatal(err)
	}
	if err := b.Start(); err != nil {
		log.Fatal(err)
	}
	defer b.Close()
	d, err := devicejs.New(devicejs.Config{Dial: b.MemoryDialer()})
	if err != nil {
		log.Fatal(err)
	}
	_, err = d.Run(context.Background(), devicejs.Script{Source: `
var c = mqtt.connect('mqtt://broker:1883');
c.on('connect', function() {
  c.publish('t', 'one', {qos: 1}, function() {
    c.publish('t', 'two', {qos: 1}, function() { c.end(); });
  });
});`})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%+v\n", d.Stats())
	// Output: {Published:2 Received:0 DiscardedForSize:0 Reconnects:0 DroppedForQueue:0}
}

func ExampleConfig_onEvent() {
	b, err := broker.New(broker.Config{})
	if err != nil {
		log.Fatal(err)
	}
	if err := b.Start(); err != nil {
		log.Fatal(err)
	}
	defer b.Close()
	cfg := devicejs.Config{
		Embedded: b,
		OnEvent: func(e devicejs.Event) {
			fmt.Println(e.Kind, e.Topic, int(e.Code))
		},
	}
	_, err = devicejs.Run(context.Background(), devicejs.Script{Source: `
var c = mqtt.connect('mqtt://broker:1883');
c.on('connect', function() {
  c.publish('status', 'up', {qos: 1}, function() { c.end(); });
});`}, cfg)
	if err != nil {
		log.Fatal(err)
	}
	// Output:
	// connect  0
	// publish_done status 0
	// end  0
}

func ExampleConfig_limits() {
	src := `
var c = mqtt.connect('mqtt://broker:1883');
var n = 0;
c.on('connect', function() {
  for (var i = 0; i < 6; i++) {
    c.subscribe('topic/' + i, {}, function(err) { if (err.code === 0) n++; });
  }
  setTimeout(function() { print(n + ' subscriptions'); c.end(); }, 1000);
});`
	for _, lim := range []mqttcore.Limits{mqttcore.DeviceLimits(), mqttcore.HostLimits()} {
		b, err := broker.New(broker.Config{})
		if err != nil {
			log.Fatal(err)
		}
		if err := b.Start(); err != nil {
			log.Fatal(err)
		}
		_, err = devicejs.Run(context.Background(), devicejs.Script{Source: src},
			devicejs.Config{Stdout: os.Stdout, Embedded: b, Limits: lim})
		b.Close()
		if err != nil {
			log.Fatal(err)
		}
	}
	// Output:
	// 5 subscriptions
	// 6 subscriptions
}

func ExampleScriptFile() {
	path := filepath.Join(os.TempDir(), "devicejs-example.js")
	if err := os.WriteFile(path, []byte("print('from a file');\n"), 0o644); err != nil {
		log.Fatal(err)
	}
	defer os.Remove(path)
	s, err := devicejs.ScriptFile(path)
	if err != nil {
		log.Fatal(err)
	}
	res, err := devicejs.Run(context.Background(), s, devicejs.Config{Stdout: os.Stdout})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Ending)
	// Output:
	// from a file
	// finished
}

func ExampleResult_ScriptError() {
	res, err := devicejs.Run(context.Background(), devicejs.Script{Name: "device.js", Source: `
function check(v) {
  if (!v) throw new Error('no value');
}
check(0);
`}, devicejs.Config{})
	if err != nil {
		log.Fatal(err)
	}
	se := res.ScriptError()
	fmt.Println(res.Ending)
	fmt.Printf("%s:%d:%d %s\n", se.File, se.Line, se.Column, se.Message)
	// Output:
	// script failed
	// device.js:3:17 Error: no value
}

func ExampleAddressDialer() {
	_, err := devicejs.AddressDialer("127.0.0.1:1883")
	fmt.Println(err)
	_, err = devicejs.AddressDialer("no-port")
	fmt.Println(err)
	// Output:
	// <nil>
	// devicejs: broker address: want HOST:PORT, got "no-port"
}

func ExampleEnding_String() {
	fmt.Println(devicejs.Finished, devicejs.ForElapsed, devicejs.Canceled, devicejs.ScriptFailed)
	// Output: finished for elapsed canceled script failed
}

func ExampleConfigError() {
	_, err := devicejs.New(devicejs.Config{MaxMemory: -5})
	var ce *devicejs.ConfigError
	if errors.As(err, &ce) {
		fmt.Println(ce.Field, errors.Is(err, devicejs.ErrInvalidConfig))
	}
	fmt.Println(err)
	// Output:
	// MaxMemory true
	// devicejs: Config.MaxMemory: must not be negative (0 means none), got -5
}

func ExampleHookError() {
	res, err := devicejs.Run(context.Background(), devicejs.Script{Source: "print('hello')"}, devicejs.Config{
		Stdout: writerFunc(func([]byte) (int, error) { panic("disk full") }),
	})
	if err != nil {
		log.Fatal(err)
	}
	var he *devicejs.HookError
	fmt.Println(res.Ending, errors.As(res.Err, &he), he.Hook, he.Value)
	fmt.Println(res.ScriptError().Message)
	// Output:
	// script failed true Stdout disk full
	// Config.Stdout panicked: disk full
}

// Per-device values: the script sees each of Config.Globals as a plain global before it runs,
// so one script serves many devices (and a real device, through its fallback values).
func ExampleConfig_globals() {
	src := `
var DEVICE_ID = typeof DEVICE_ID !== 'undefined' ? DEVICE_ID : 'sensor01';
print(DEVICE_ID, PERIOD_MS, TOPICS.join(' '));`
	for _, id := range []string{"sensor02", "sensor03"} {
		_, err := devicejs.Run(context.Background(), devicejs.Script{Source: src}, devicejs.Config{
			Stdout: os.Stdout,
			Globals: runtime.Globals{
				"DEVICE_ID": id,
				"PERIOD_MS": 10000,
				"TOPICS":    []string{"dev/" + id + "/temp", "dev/" + id + "/cmd"},
			},
		})
		if err != nil {
			log.Fatal(err)
		}
	}
	// Output:
	// sensor02 10000 dev/sensor02/temp dev/sensor02/cmd
	// sensor03 10000 dev/sensor03/temp dev/sensor03/cmd
}

// Hostile scripts in one process: each device has its own DeviceMemory budget; the one that
// leaks ends alone with the budget error while the others finish.
func ExampleConfig_deviceMemory() {
	scripts := []string{
		`var a = []; while (true) a.push({t: Date.now()});`, // leaks
		`setTimeout(function() { print('healthy done'); }, 50);`,
	}
	results := make([]devicejs.Result, len(scripts))
	done := make(chan int)
	for i, src := range scripts {
		d, err := devicejs.New(devicejs.Config{Stdout: os.Stdout, DeviceMemory: 16 << 20})
		if err != nil {
			log.Fatal(err)
		}
		err = d.Start(context.Background(), devicejs.Script{Source: src}, func(r devicejs.Result) {
			results[i] = r
			done <- i
		})
		if err != nil {
			log.Fatal(err)
		}
	}
	<-done
	<-done
	for _, r := range results {
		fmt.Println(r.Ending, errors.Is(r.Err, runtime.ErrMemoryBudget))
	}
	// Output:
	// healthy done
	// script failed true
	// finished false
}
