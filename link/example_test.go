package link_test

import (
	"fmt"
	"io"
	"net"
	"time"

	"github.com/devicejs/devicejs/link"
)

func ExampleParse() {
	c, err := link.Parse("3g,loss=5%")
	if err != nil {
		panic(err)
	}
	fmt.Println(c)
	fmt.Println(c.RTO())
	_, err = link.Parse("latency=fast")
	fmt.Println(err)
	// Output:
	// latency=100ms,jitter=20ms,loss=5%,bandwidth=330kbit
	// 220ms
	// field "latency": want a duration like 200ms, got "fast"
}

func ExampleLink_WrapConn() {
	l := link.New(link.Conditions{Latency: 50 * time.Millisecond}, nil, 1)
	device, network := net.Pipe()
	wrapped := l.WrapConn(device)
	defer wrapped.Close()

	start := time.Now()
	go func() { _, _ = wrapped.Write([]byte("hello")) }()
	b := make([]byte, 5)
	_, _ = io.ReadFull(network, b)
	fmt.Println(string(b), time.Since(start) >= 50*time.Millisecond)
	fmt.Printf("%+v\n", l.Stats().Up)
	_ = network.Close()
	// Output:
	// hello true
	// {Bytes:5 Segments:1 LostSegments:0 Losses:0 Delay:50ms MaxDelay:50ms}
}
