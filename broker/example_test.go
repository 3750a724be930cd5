package broker_test

import (
	"fmt"
	"strings"

	"github.com/devicejs/devicejs/broker"
)

func ExampleNew() {
	b, err := broker.New(broker.Config{TCPAddr: "127.0.0.1:0"})
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := b.Start(); err != nil {
		fmt.Println(err)
		return
	}
	defer b.Close()
	fmt.Println(strings.HasPrefix(b.Addr(), "127.0.0.1:"))
	// Output: true
}

func ExampleBroker_Publish() {
	b, err := broker.New(broker.Config{})
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := b.Start(); err != nil {
		fmt.Println(err)
		return
	}
	defer b.Close()
	// A device script connected with DialMemory (or over TCP) and subscribed to
	// "dev1/cmd" receives this message; here a Go subscriber stands in for it.
	got := make(chan broker.Message, 1)
	unsubscribe, err := b.Subscribe("dev1/cmd", func(m broker.Message) { got <- m })
	if err != nil {
		fmt.Println(err)
		return
	}
	defer unsubscribe()
	if err := b.Publish("dev1/cmd", []byte(`{"led":"on"}`), 1, false); err != nil {
		fmt.Println(err)
		return
	}
	m := <-got
	fmt.Printf("%s %s\n", m.Topic, m.Payload)
	fmt.Println(b.Publish("dev1/+", nil, 0, false))
	// Output:
	// dev1/cmd {"led":"on"}
	// broker: invalid topic "dev1/+": wildcard '+' not allowed in a topic name
}

func ExampleBroker_Subscribe() {
	b, err := broker.New(broker.Config{})
	if err != nil {
		fmt.Println(err)
		return
	}
	// Subscribing before Start sees a device's first messages.
	got := make(chan broker.Message, 1)
	unsubscribe, err := b.Subscribe("devices/+/temperature", func(m broker.Message) {
		got <- m // runs on the subscription's own goroutine; m is a copy
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer unsubscribe()
	if err := b.Start(); err != nil {
		fmt.Println(err)
		return
	}
	defer b.Close()
	// Stands in for a device script's mqtt publish.
	_ = b.Publish("devices/d1/temperature", []byte("21.5"), 0, false)
	m := <-got
	fmt.Printf("%s %s from %s\n", m.Topic, m.Payload, m.ClientID)
	// Output: devices/d1/temperature 21.5 from inline
}

func ExampleBroker_Clients() {
	b, err := broker.New(broker.Config{})
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := b.Start(); err != nil {
		fmt.Println(err)
		return
	}
	defer b.Close()
	// No device has connected yet; the inline client of Publish and Subscribe is not listed.
	fmt.Println(len(b.Clients()))
	// Output: 0
}
