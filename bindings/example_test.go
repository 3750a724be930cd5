package bindings_test

import (
	"context"
	"fmt"
	"os"

	"github.com/devicejs/devicejs/bindings"
	"github.com/devicejs/devicejs/mqttcore"
	"github.com/devicejs/devicejs/runtime"
)

// Register installs `mqtt` as a setup function of Loop.Run, with a Host whose callbacks run
// on the loop (NewHost). This script only shows the argument handling: no broker is needed.
func ExampleRegister() {
	l := runtime.New(runtime.Options{Stdout: os.Stdout})
	host := bindings.NewHost(l, mqttcore.HostConfig{Limits: mqttcore.DeviceLimits()})
	err := l.Run(context.Background(), "example.js", `
print(typeof mqtt.connect, typeof mqtt.set);
print(mqtt.connect('http://foo.bar'));          // not an MQTT URL
print(mqtt.connect('mqtt://foo.bar', {keepalive: -1}));
print(mqtt.set('ssl.ca'));                      // clears ssl.ca; always undefined
`, func(l *runtime.Loop) error {
		return bindings.Register(l, host, bindings.Config{})
	})
	fmt.Println(err)
	// Output:
	// function function
	// undefined
	// undefined
	// undefined
	// <nil>
}
