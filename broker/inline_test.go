package broker_test

import (
	"bytes"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/devicejs/devicejs/broker"
	"github.com/devicejs/devicejs/internal/testbroker"
)

// memClient connects a paho client to b over DialMemory.
func memClient(t *testing.T, b *broker.Broker, id string) paho.Client {
	t.Helper()
	return mustConnect(t, id, "tcp://memory:1883", withDial(b.DialMemory, nil))
}

func TestPublishReachesClient(t *testing.T) {
	b := testbroker.MochiConfig(t, broker.Config{})
	c := memClient(t, b, "dev1")
	got := make(chan paho.Message, 8)
	if tok := c.Subscribe("dev1/cmd", 2, func(_ paho.Client, m paho.Message) { got <- m }); !tok.WaitTimeout(wait) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	for qos := range byte(3) {
		p := []byte{'o', 'n', '0' + qos}
		if err := b.Publish("dev1/cmd", p, qos, false); err != nil {
			t.Fatal(err)
		}
		p[0] = 'X' // Publish copied it
		m := testbroker.Receive(t, got, wait, "a message")
		if m.Topic() != "dev1/cmd" || string(m.Payload()) != "on"+string('0'+qos) || m.Qos() != qos {
			t.Errorf("qos %d: got %q %q qos %d", qos, m.Topic(), m.Payload(), m.Qos())
		}
	}
	// retained: a later subscriber gets it. (A fresh client: a second SUBSCRIBE from a client
	// that just took a QoS 2 message is sometimes lost between paho and mochi, whoever
	// published, so the test does not mix the two.)
	if err := b.Publish("dev1/state", []byte("kept"), 1, true); err != nil {
		t.Fatal(err)
	}
	c = memClient(t, b, "dev2")
	if tok := c.Subscribe("dev1/state", 1, func(_ paho.Client, m paho.Message) { got <- m }); !tok.WaitTimeout(wait) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	if m := testbroker.Receive(t, got, wait, "a message"); string(m.Payload()) != "kept" || !m.Retained() {
		t.Errorf("retained: %q retained=%v", m.Payload(), m.Retained())
	}
}

func TestSubscribeSeesClients(t *testing.T) {
	b := testbroker.MochiConfig(t, broker.Config{})
	got := make(chan broker.Message, 16)
	var panicked sync.WaitGroup
	panicked.Add(2)
	unsubPanic, err := b.Subscribe("dev/#", func(m broker.Message) {
		defer panicked.Done()
		panic("boom " + m.Topic)
	})
	if err != nil {
		t.Fatal(err)
	}
	unsub, err := b.Subscribe("dev/+/up", func(m broker.Message) { got <- m })
	if err != nil {
		t.Fatal(err)
	}
	c := memClient(t, b, "dev7")
	for qos := range byte(2) {
		p := []byte("reading")
		if tok := c.Publish("dev/7/up", qos, false, p); !tok.WaitTimeout(wait) || tok.Error() != nil {
			t.Fatalf("publish: %v", tok.Error())
		}
		m := testbroker.Receive(t, got, wait, "a message")
		if m.Topic != "dev/7/up" || string(m.Payload) != "reading" || m.QoS != qos || m.ClientID != "dev7" {
			t.Errorf("qos %d: got %+v", qos, m)
		}
	}
	panicked.Wait() // both panics recovered; the other callback went on
	unsubPanic()
	unsubPanic() // idempotent
	if s := b.DeliveryStats(); s.Panics != 2 || s.Delivered < 4 {
		t.Errorf("stats %+v, want 2 panics and at least 4 deliveries", s)
	}
	// Go publishes are seen too, with the inline client id; after unsubscribe nothing.
	if err := b.Publish("dev/go/up", []byte("x"), 0, false); err != nil {
		t.Fatal(err)
	}
	if m := testbroker.Receive(t, got, wait, "a message"); m.ClientID != "inline" {
		t.Errorf("ClientID %q, want inline", m.ClientID)
	}
	unsub()
	if err := b.Publish("dev/go/up", []byte("y"), 0, false); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-got:
		t.Errorf("delivered after unsubscribe: %+v", m)
	case <-time.After(50 * time.Millisecond):
	}
}

func TestClientsListsDevices(t *testing.T) {
	b := testbroker.MochiConfig(t, broker.Config{})
	if n := len(b.Clients()); n != 0 {
		t.Fatalf("%d clients before any connect", n)
	}
	c := memClient(t, b, "dev-b")
	memClient(t, b, "dev-a")
	c.Subscribe("x/1", 0, nil).WaitTimeout(wait)
	c.Subscribe("x/2", 0, nil).WaitTimeout(wait)
	got := b.Clients()
	if len(got) != 2 || got[0].ID != "dev-a" || got[1].ID != "dev-b" {
		t.Fatalf("Clients() = %+v", got)
	}
	if !got[1].Connected || got[1].Subscriptions != 2 || got[1].Listener != broker.ListenerMemory {
		t.Errorf("dev-b = %+v", got[1])
	}
}

func TestInlineRefusals(t *testing.T) {
	long := strings.Repeat("a", broker.MaxTopicLen+1)
	pubs := []struct {
		name  string
		topic string
		qos   byte
		size  int
		want  error
	}{
		{"empty", "", 0, 1, broker.ErrInvalidTopic},
		{"plus", "a/+", 0, 1, broker.ErrInvalidTopic},
		{"hash", "a/#", 0, 1, broker.ErrInvalidTopic},
		{"nul", "a\x00b", 0, 1, broker.ErrInvalidTopic},
		{"bad utf8", "a/\xff", 0, 1, broker.ErrInvalidTopic},
		{"huge topic", long, 0, 1, broker.ErrInvalidTopic},
		{"qos 3", "a", 3, 1, broker.ErrInvalidQoS},
		{"qos 255", "a", 255, 1, broker.ErrInvalidQoS},
		{"payload over MQTT bound", "a", 1, broker.MaxPacketSize - 4, broker.ErrPayloadTooLarge},
	}
	b := testbroker.MochiConfig(t, broker.Config{})
	for _, tt := range pubs {
		t.Run("publish "+tt.name, func(t *testing.T) {
			err := b.Publish(tt.topic, make([]byte, tt.size), tt.qos, false)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			var te *broker.TopicError
			if errors.As(err, &te) && len(te.Topic) > 70 {
				t.Errorf("error topic not cut: %d bytes", len(te.Topic))
			}
		})
	}
	for _, f := range []string{"", "a/#/b", "a+", "a/b#", "#/a", "a\x00", "\xc3\x28", long} {
		if _, err := b.Subscribe(f, func(broker.Message) {}); !errors.Is(err, broker.ErrInvalidTopic) {
			t.Errorf("Subscribe(%.20q) err = %v", f, err)
		}
	}
	for _, f := range []string{"#", "+", "a/+/b", "+/+", "a/#", "$SYS/#"} {
		unsub, err := b.Subscribe(f, func(broker.Message) {})
		if err != nil {
			t.Errorf("Subscribe(%q): %v", f, err)
			continue
		}
		unsub()
	}
	if _, err := b.Subscribe("a", nil); !errors.Is(err, broker.ErrNilCallback) {
		t.Errorf("nil callback: %v", err)
	}

	nb, err := broker.New(broker.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := nb.Publish("a", nil, 0, false); !errors.Is(err, broker.ErrNotStarted) {
		t.Errorf("before Start: %v", err)
	}
	unsub, err := nb.Subscribe("a", func(broker.Message) {}) // allowed before Start
	if err != nil {
		t.Fatal(err)
	}
	nb.Close()
	unsub() // after Close: nothing happens
	if err := nb.Publish("a", nil, 0, false); !errors.Is(err, broker.ErrClosed) {
		t.Errorf("after Close: %v", err)
	}
	if _, err := nb.Subscribe("a", func(broker.Message) {}); !errors.Is(err, broker.ErrClosed) {
		t.Errorf("Subscribe after Close: %v", err)
	}
	if len(nb.Clients()) != 0 {
		t.Errorf("Clients after Close: %v", nb.Clients())
	}
}

// A blocked callback: messages beyond the queue bound are dropped, Close waits for the call.
func TestSubscribeQueueBounded(t *testing.T) {
	b, err := broker.New(broker.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	if _, err := b.Subscribe("flood", func(broker.Message) {
		select {
		case entered <- struct{}{}:
		default:
		}
		<-release
	}); err != nil {
		t.Fatal(err)
	}
	const n = broker.MaxQueuedMessages + 200
	payload := bytes.Repeat([]byte{1}, 100)
	for range n {
		if err := b.Publish("flood", payload, 0, false); err != nil {
			t.Fatal(err)
		}
	}
	<-entered
	s := b.DeliveryStats()
	if s.Dropped < 200-1 || s.Dropped > 200 {
		t.Errorf("Dropped = %d, want about 200", s.Dropped)
	}
	close(release)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	// unsubscribe from inside the callback does not deadlock
	b2 := testbroker.MochiConfig(t, broker.Config{})
	done := make(chan struct{})
	var unsub func()
	var mu sync.Mutex
	mu.Lock()
	unsub, err = b2.Subscribe("self", func(broker.Message) {
		mu.Lock()
		defer mu.Unlock()
		unsub()
		close(done)
	})
	mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	if err := b2.Publish("self", nil, 0, false); err != nil {
		t.Fatal(err)
	}
	testbroker.Receive(t, done, wait, "the self-published message")
}

// Publish, Subscribe and unsubscribe racing Close: only nil or the state errors, no panic, no
// goroutine left (TestMain's goleak).
func TestInlineConcurrentClose(t *testing.T) {
	for range 5 {
		b, err := broker.New(broker.Config{})
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Start(); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make(chan error, 1000)
		for g := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 100 {
					if g%2 == 0 {
						errs <- b.Publish("race/x", []byte("p"), byte(i%3), i%10 == 0)
						continue
					}
					unsub, err := b.Subscribe("race/#", func(broker.Message) {})
					errs <- err
					if err == nil && i%2 == 0 {
						unsub()
					}
				}
			}()
		}
		time.Sleep(time.Millisecond)
		if err := b.Close(); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil && !errors.Is(err, broker.ErrClosed) {
				t.Fatalf("unexpected error %v", err)
			}
		}
	}
}

// A client floods a Go subscriber whose callback is stuck: the subscription's queue stays
// within MaxQueuedBytes (the rest is dropped and counted), and Close returns once the callback
// does, with no goroutine left.
func TestSubscribeFloodFromClient(t *testing.T) {
	b, err := broker.New(broker.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	if _, err := b.Subscribe("flood/#", func(broker.Message) { <-release }); err != nil {
		t.Fatal(err)
	}
	end := make(chan broker.Message, 1)
	if _, err := b.Subscribe("end", func(m broker.Message) { end <- m }); err != nil {
		t.Fatal(err)
	}
	c := memClient(t, b, "flooder")
	const n, size = 120, 256 << 10 // 30 MiB against a 16 MiB queue
	payload := bytes.Repeat([]byte{'f'}, size)
	for i := range n {
		if tok := c.Publish("flood/x", 0, false, payload); !tok.WaitTimeout(wait) {
			t.Fatalf("publish %d timed out", i)
		}
	}
	// The same client's packets are routed in order: once "end" is seen, every flood message was.
	if tok := c.Publish("end", 1, false, "."); !tok.WaitTimeout(wait) || tok.Error() != nil {
		t.Fatalf("end: %v", tok.Error())
	}
	testbroker.Receive(t, end, wait, "the end message")
	s := b.DeliveryStats()
	queued := n - int(s.Dropped) - (int(s.Delivered) - 1) // minus the end message
	if maxQueued := broker.MaxQueuedBytes/(size+len("flood/x")) + 1; queued > maxQueued+1 || s.Dropped == 0 {
		t.Errorf("stats %+v: %d messages queued, want at most %d (+1 in the callback)", s, queued, maxQueued)
	}
	close(release)
	start := time.Now()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("stats %+v, Close %v", s, time.Since(start))
}
