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
