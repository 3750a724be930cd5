package leakcheck

import (
	"testing"
	"time"
)

func TestSettleWaitsForGoroutinesThatEnd(t *testing.T) {
	done := make(chan struct{})
	go func() { time.Sleep(300 * time.Millisecond); close(done) }()
	if err := settle(5*time.Second, nil); err != nil {
		t.Fatalf("a goroutine that ends after 300 ms: %v", err)
	}
	<-done
}

func TestSettleReportsGoroutinesThatDoNot(t *testing.T) {
	stop := make(chan struct{})
	go func() { <-stop }()
	defer close(stop)
	if err := settle(300*time.Millisecond, nil); err == nil {
		t.Fatal("a goroutine that never ends was not reported")
	}
}

func TestMain(m *testing.M) { Main(m) }
