package mqttcore

import (
	"testing"
	"time"
)

// TestDirectPublishAfterExpiredDeadline: guardConn.Write leaves each write's deadline behind;
// once it has passed, a direct publish must still be written at once, not fall back to the
// goroutine that finishes blocked writes.
func TestDirectPublishAfterExpiredDeadline(t *testing.T) {
	addr := minimalBroker(t)
	connected := make(chan struct{}, 1)
	h := NewHost(HostConfig{})
	s, err := h.Connect("mqtt://"+addr, DefaultOptions(), TLSSettings{},
		Events{Connect: func(Connack) { connected <- struct{}{} }})
	if err != nil {
		t.Fatal(err)
	}
	defer endSession(s)
	select {
	case <-connected:
	case <-time.After(10 * time.Second):
		t.Fatal("no connect")
	}
	s.mu.Lock()
	g := s.conn.att.guardConn()
	s.mu.Unlock()
	if g == nil || g.raw == nil {
		t.Skip("no raw connection on this platform")
	}
	_ = g.Conn.SetWriteDeadline(time.Now().Add(-time.Second))
	done := make(chan Code, 1)
	if err := s.Publish("t", []byte("x"), PublishOptions{}, func(c Code) { done <- c }); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	pending := len(s.ops)
	s.mu.Unlock()
	if pending != 0 {
		t.Error("the publish was not written directly")
	}
	if c := <-done; c != OK {
		t.Errorf("completion %v", c)
	}
}
