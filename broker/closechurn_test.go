package broker_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/devicejs/devicejs/broker"
	"github.com/devicejs/devicejs/internal/testbroker"
)

// connectPacket is a minimal MQTT 3.1.1 CONNECT (clean session, keepalive 0) for client id.
func connectPacket(id string) []byte {
	body := []byte{0, 4, 'M', 'Q', 'T', 'T', 4, 0x02, 0, 0, 0, byte(len(id))}
	return testbroker.Packet(0x10, append(body, id...)...)
}

// TestCloseWhileClientsChurn: Close returns while clean clients connect and disconnect around
// it. mochi 2.7.9's own closeListenerClients read-locked the client table twice, and a
// disconnecting clean client's Delete waiting for the write lock between the two deadlocked
// Close forever (CI hung 8 minutes in TestTLSHostForms); the broker now disconnects a
// listener's clients with one read of the table. The window is a few instructions wide, so
// this churn does not reproduce the hang reliably on the old code (the fix is by construction:
// no lock is taken twice); it guards Close under churn.
func TestCloseWhileClientsChurn(t *testing.T) {
	for round := range 30 {
		b, err := broker.New(broker.Config{})
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Start(); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for w := range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ctx.Err() == nil; i++ {
					c, err := b.DialMemory(ctx)
					if err != nil {
						return
					}
					_, _ = c.Write(connectPacket(string(rune('a'+w)) + string(rune('a'+i%26))))
					_ = c.SetReadDeadline(time.Now().Add(time.Second))
					_, _, _ = testbroker.ReadPacket(c)
					_ = c.Close()
				}
			}()
		}
		time.Sleep(5 * time.Millisecond)
		closed := make(chan error, 1)
		go func() { closed <- b.Close() }()
		select {
		case <-closed:
		case <-time.After(20 * time.Second):
			t.Fatalf("round %d: Close did not return within 20 s while clients churned", round)
		}
		cancel()
		wg.Wait()
	}
}
