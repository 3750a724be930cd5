package testbroker_test

import (
	"context"
	"net"
	"testing"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/devicejs/devicejs/broker"
	"github.com/devicejs/devicejs/internal/testbroker"
)

// connectPacket is a minimal MQTT 3.1.1 CONNECT of client id "k".
var connectPacket = testbroker.Packet(0x10, 0, 4, 'M', 'Q', 'T', 'T', 4, 2, 0, 60, 0, 1, 'k')

func dialFake(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, testbroker.Wait)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	_ = c.SetDeadline(time.Now().Add(testbroker.Wait))
	return c
}

// TestFakeAccept: Accept answers the CONNECT with its return code, then hands the connection
// to after; CloseConns drops the connections and the listener keeps accepting.
func TestFakeAccept(t *testing.T) {
	for _, rc := range []byte{0, 5} {
		got := make(chan byte, 4)
		f := testbroker.Fake(t, testbroker.Accept(rc, func(c net.Conn) {
			h, _, err := testbroker.ReadPacket(c)
			if err == nil {
				got <- h
			}
		}))
		c := dialFake(t, f.Addr())
		if _, err := c.Write(connectPacket); err != nil {
			t.Fatal(err)
		}
		h, body, err := testbroker.ReadPacket(c)
		if err != nil || h != 0x20 || len(body) != 2 || body[1] != rc {
			t.Fatalf("CONNACK %#x % x %v, want return code %d", h, body, err, rc)
		}
		if _, err := c.Write([]byte{0xC0, 0}); err != nil {
			t.Fatal(err)
		}
		if h := testbroker.Receive(t, got, testbroker.Wait, "the PINGREQ"); h != 0xC0 {
			t.Fatalf("after read %#x, want PINGREQ", h)
		}
		f.CloseConns()
		if _, _, err := testbroker.ReadPacket(c); err == nil {
			t.Fatal("connection open after CloseConns")
		}
		dialFake(t, f.Addr())
		if f.URL() != "mqtt://"+f.Addr() {
			t.Fatalf("URL %q", f.URL())
		}
	}
}

// TestDeadAddrRefuses: nothing listens at DeadAddr.
func TestDeadAddrRefuses(t *testing.T) {
	if c, err := net.DialTimeout("tcp", testbroker.DeadAddr(t), testbroker.Wait); err == nil {
		c.Close()
		t.Fatal("DeadAddr accepted a connection")
	}
}

// TestMochiConfigMemoryOnly: WithConfig chooses the listener kinds; broker.Config{} is the
// memory listener alone.
func TestMochiConfigMemoryOnly(t *testing.T) {
	b := testbroker.Mochi(t, testbroker.WithConfig(broker.Config{}))
	if b.Addr() != "" || b.MochiBroker().Addr() != "" {
		t.Fatalf("a TCP listener at %q", b.Addr())
	}
	c, err := testbroker.MochiConfig(t, broker.Config{}).DialMemory(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
}

// recordPublishes is a test hook that sends each PUBLISH topic it sees.
type recordPublishes struct {
	mqtt.HookBase
	topics chan string
}

func (h *recordPublishes) ID() string           { return "record" }
func (h *recordPublishes) Provides(b byte) bool { return b == mqtt.OnPublish }
func (h *recordPublishes) OnPublish(_ *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	h.topics <- pk.TopicName
	return pk, nil
}

// TestMochiWithHookAndUsers: a WithHook hook sees the publishes, also after a Restart, and
// WithUser still refuses a wrong password with WithConfig.
func TestMochiWithHookAndUsers(t *testing.T) {
	h := &recordPublishes{topics: make(chan string, 8)}
	b := testbroker.Mochi(t, testbroker.WithHook(h), testbroker.WithUser("u", "p"),
		testbroker.WithConfig(broker.Config{TCPAddr: "127.0.0.1:0"}))
	for i := range 2 {
		testbroker.Publish(t, b.Addr(), "hooked", []byte("x"), 0, false, testbroker.WithCredentials("u", "p"))
		if got := testbroker.Receive(t, h.topics, testbroker.Wait, "the hooked publish"); got != "hooked" {
			t.Fatalf("run %d: hook saw %q", i, got)
		}
		b.Restart()
	}
	c := dialFake(t, b.Addr())
	if _, err := c.Write(connectPacket); err != nil {
		t.Fatal(err)
	}
	if _, body, err := testbroker.ReadPacket(c); err != nil || len(body) != 2 || body[1] == 0 {
		t.Fatalf("anonymous CONNECT: % x %v, want a refusal", body, err)
	}
}

// TestReceiveAndWaitFor: Receive returns the value (the zero value for a closed channel);
// Eventually reports false when the condition never holds.
func TestReceiveAndWaitFor(t *testing.T) {
	ch := make(chan int, 1)
	ch <- 7
	if v := testbroker.Receive(t, ch, time.Second, "7"); v != 7 {
		t.Fatalf("got %d", v)
	}
	close(ch)
	if v := testbroker.Receive(t, ch, time.Second, "the close"); v != 0 {
		t.Fatalf("got %d after close", v)
	}
	if testbroker.Eventually(20*time.Millisecond, func() bool { return false }) {
		t.Fatal("Eventually of false")
	}
	n := 0
	testbroker.WaitFor(t, time.Second, "three polls", func() bool { n++; return n == 3 })
}
