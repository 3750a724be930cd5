package mqttcore

import (
	"testing"
	"time"
)

func TestWallClock(t *testing.T) {
	var c Clock = wallClock{}
	before := time.Now()
	if now := c.Now(); now.Before(before) {
		t.Fatalf("Now() = %v, before %v", now, before)
	}
	fired := make(chan struct{})
	c.AfterFunc(time.Millisecond, func() { close(fired) })
	select {
	case <-fired:
	case <-time.After(10 * time.Second):
		t.Fatal("AfterFunc did not fire")
	}
	stop := c.AfterFunc(time.Hour, func() { t.Error("stopped timer fired") })
	if !stop() {
		t.Fatal("stop() = false for a pending timer")
	}
	if stop() {
		t.Fatal("second stop() = true")
	}
}
