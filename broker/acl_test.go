package broker_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/devicejs/devicejs/broker"
	"github.com/devicejs/devicejs/internal/testbroker"
)

// TestACL: Config.ACL sees the user, client id, topic and direction of every publish and
// subscribe of an admitted client; a refused subscribe gets SUBACK 0x80, a refused QoS 0
// publish is dropped, and allowed traffic flows.
func TestACL(t *testing.T) {
	var mu sync.Mutex
	var asked []string
	acl := func(user, clientID, topic string, write bool) bool {
		mu.Lock()
		asked = append(asked, strings.Join([]string{user, clientID, topic, map[bool]string{true: "w", false: "r"}[write]}, " "))
		mu.Unlock()
		return !strings.HasPrefix(topic, "secret/")
	}
	b := testbroker.MochiConfig(t, broker.Config{TCPAddr: "127.0.0.1:0", ACL: acl, Users: map[string]string{"u": "p"}})
	uri := "tcp://" + b.Addr()
	sub := mustConnect(t, "acl-sub", uri, withAuth("u", "p"))
	pub := mustConnect(t, "acl-pub", uri, withAuth("u", "p"))

	tok := sub.Subscribe("secret/#", 0, nil)
	if !tok.WaitTimeout(wait) {
		t.Fatal("subscribe timeout")
	}
	if st, ok := tok.(*paho.SubscribeToken); !ok || st.Result()["secret/#"] != 0x80 {
		t.Fatalf("refused subscribe: result %v, want 0x80", tok.(*paho.SubscribeToken).Result())
	}
	got := make(chan string, 10)
	tok = sub.Subscribe("#", 0, func(_ paho.Client, m paho.Message) { got <- m.Topic() })
	if !tok.WaitTimeout(wait) || tok.Error() != nil {
		t.Fatalf("subscribe #: %v", tok.Error())
	}
	for _, topic := range []string{"secret/x", "open/x"} {
		if tok := pub.Publish(topic, 0, false, "v"); !tok.WaitTimeout(wait) || tok.Error() != nil {
			t.Fatalf("publish %s: %v", topic, tok.Error())
		}
	}
	select {
	case topic := <-got:
		if topic != "open/x" {
			t.Fatalf("received %s, want only open/x", topic)
		}
	case <-time.After(wait):
		t.Fatal("open/x not received")
	}
	mu.Lock()
	defer mu.Unlock()
	for _, want := range []string{"u acl-sub secret/# r", "u acl-pub secret/x w", "u acl-pub open/x w"} {
		found := false
		for _, a := range asked {
			found = found || a == want
		}
		if !found {
			t.Errorf("ACL not asked %q; asked %q", want, asked)
		}
	}
}
