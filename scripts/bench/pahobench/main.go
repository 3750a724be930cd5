// Command pahobench is the raw paho.mqtt.golang side of the devicejs benchmark (see
// scripts/bench): the same workloads as the device scripts, with no JavaScript, so it shows
// the practical limit of a binding over paho.
//
//	pahobench -addr 127.0.0.1:1883 -workload qos0|qos1|rtt|startup|footprint
//
// It prints one "RESULT key=value ..." line (startup prints nothing: the harness times the
// process).
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

const wait = 30 * time.Second

func main() {
	addr := flag.String("addr", "127.0.0.1:1883", "broker HOST:PORT")
	workload := flag.String("workload", "qos0", "qos0, qos1, rtt, startup or footprint")
	flag.Parse()
	var err error
	switch *workload {
	case "qos0":
		err = throughput(*addr, 0, 20000)
	case "qos1":
		err = throughput(*addr, 1, 10000)
	case "rtt":
		err = rtt(*addr, 2000)
	case "startup":
		err = startup(*addr)
	case "footprint":
		err = footprint(*addr, 1000)
	default:
		err = fmt.Errorf("unknown workload %q", *workload)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "FAIL", err)
		os.Exit(1)
	}
}

// connect returns a connected clean-session MQTT 3.1.1 client; h handles every message.
func connect(addr, id string, h paho.MessageHandler) (paho.Client, error) {
	o := paho.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(id).
		SetProtocolVersion(4).SetCleanSession(true).SetAutoReconnect(false).
		SetOrderMatters(true).SetDefaultPublishHandler(h)
	c := paho.NewClient(o)
	if err := waitToken(c.Connect()); err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	return c, nil
}

func waitToken(t paho.Token) error {
	if !t.WaitTimeout(wait) {
		return fmt.Errorf("timeout")
	}
	return t.Error()
}

func clientID(kind string) string {
	return "pahobench-" + kind + "-" + strconv.Itoa(os.Getpid())
}

// throughput publishes total messages of 64 bytes, each after the previous one's token
// completed, to a topic the client subscribes, and reports messages/s until all came back.
func throughput(addr string, qos byte, total int) error {
	topic := fmt.Sprintf("bench/paho/%d/qos%d", os.Getpid(), qos)
	var got atomic.Int64
	all := make(chan struct{})
	c, err := connect(addr, clientID("tp"), func(paho.Client, paho.Message) {
		if got.Add(1) == int64(total) {
			close(all)
		}
	})
	if err != nil {
		return err
	}
	defer c.Disconnect(250)
	if err := waitToken(c.Subscribe(topic, qos, nil)); err != nil {
		return fmt.Errorf("subscribe: %w", err)
	}
	payload := bytes.Repeat([]byte("x"), 64)
	t0 := time.Now()
	for range total {
		if err := waitToken(c.Publish(topic, qos, false, payload)); err != nil {
			return fmt.Errorf("publish: %w", err)
		}
	}
	select {
	case <-all:
	case <-time.After(wait):
		return fmt.Errorf("only %d of %d messages came back", got.Load(), total)
	}
	fmt.Printf("RESULT msgs_per_s=%.0f\n", float64(total)/time.Since(t0).Seconds())
	return nil
}

// rtt measures total sequential publish -> own message round trips (QoS 0).
func rtt(addr string, total int) error {
	topic := fmt.Sprintf("bench/paho/%d/rtt", os.Getpid())
	back := make(chan struct{}, 1)
	c, err := connect(addr, clientID("rtt"), func(paho.Client, paho.Message) { back <- struct{}{} })
	if err != nil {
		return err
	}
	defer c.Disconnect(250)
	if err := waitToken(c.Subscribe(topic, 0, nil)); err != nil {
		return fmt.Errorf("subscribe: %w", err)
	}
	payload := bytes.Repeat([]byte("x"), 64)
	samples := make([]float64, 0, total)
	t0 := time.Now()
	for range total {
		start := time.Now()
		if err := waitToken(c.Publish(topic, 0, false, payload)); err != nil {
			return fmt.Errorf("publish: %w", err)
		}
		select {
		case <-back:
		case <-time.After(wait):
			return fmt.Errorf("message did not come back")
		}
		samples = append(samples, float64(time.Since(start).Nanoseconds())/1e3)
	}
	mean := float64(time.Since(t0).Nanoseconds()) / 1e3 / float64(total)
	sort.Float64s(samples)
	fmt.Printf("RESULT mean_us=%.1f p50_us=%.1f p99_us=%.1f\n", mean, samples[total/2], samples[total*99/100])
	return nil
}

// startup connects, waits for CONNACK and disconnects.
func startup(addr string) error {
	c, err := connect(addr, clientID("start"), nil)
	if err != nil {
		return err
	}
	c.Disconnect(0)
	return nil
}

// footprint connects n idle clients and reports the process RSS before and after.
func footprint(addr string, n int) error {
	base, err := rssKB()
	if err != nil {
		return err
	}
	clients := make([]paho.Client, 0, n)
	for i := range n {
		c, err := connect(addr, fmt.Sprintf("%s-%d", clientID("fp"), i), nil)
		if err != nil {
			return err
		}
		clients = append(clients, c)
	}
	time.Sleep(2 * time.Second)
	rss, err := rssKB()
	if err != nil {
		return err
	}
	fmt.Printf("RESULT rss_base_kb=%d rss_kb=%d clients=%d\n", base, rss, n)
	for _, c := range clients {
		c.Disconnect(0)
	}
	return nil
}

// rssKB is VmRSS of this process, in KiB (Linux).
func rssKB() (int, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			return strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/self/status")
}
