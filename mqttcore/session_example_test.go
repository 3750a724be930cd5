package mqttcore_test

import (
	"fmt"

	"github.com/devicejs/devicejs/broker"
	"github.com/devicejs/devicejs/mqttcore"
)

// ExampleHost_Connect runs a session against the embedded broker over an in-memory
// connection (HostConfig.Dial routes the script's URL), with events delivered in order.
func ExampleHost_Connect() {
	b, err := broker.New(broker.Config{})
	if err != nil || b.Start() != nil {
		fmt.Println("broker:", err)
		return
	}
	defer b.Close()

	events := make(chan string, 10)
	h := mqttcore.NewHost(mqttcore.HostConfig{Dial: b.MemoryDialer()})
	var s *mqttcore.Session
	s, err = h.Connect("mqtt://foo.bar:1883", mqttcore.DefaultOptions(), mqttcore.TLSSettings{}, mqttcore.Events{
		Connect: func(mqttcore.Connack) { events <- "connect" },
		Message: func(topic string, payload []byte, binary bool) {
			events <- fmt.Sprintf("message %s %s", topic, payload)
		},
		End: func() { events <- "end" },
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(<-events)

	subscribed := make(chan mqttcore.Code, 1)
	_ = s.Subscribe("foo_topic/#", mqttcore.SubscribeOptions{QoS: 1}, func(c mqttcore.Code) { subscribed <- c })
	fmt.Println("subscribe:", int(<-subscribed))
	_ = s.Publish("foo_topic/device01", []byte("Battery level : 10%"), mqttcore.PublishOptions{QoS: 1}, nil)
	fmt.Println(<-events)

	released := make(chan struct{})
	s.End(func() { close(released) })
	fmt.Println(<-events)
	<-released
	fmt.Println("sessions held:", h.SessionsHeld())
	// Output:
	// connect
	// subscribe: 0
	// message foo_topic/device01 Battery level : 10%
	// end
	// sessions held: 0
}
