package link

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/devicejs/devicejs/internal/testbroker"
)

func TestDialWaitsForTheLink(t *testing.T) {
	addr := testbroker.Fake(t, func(c net.Conn) { _ = c.Close() }).Addr()
	tt := []struct {
		name    string
		setup   func(l *Link)
		timeout time.Duration
		min     time.Duration
		wantErr error
	}{
		{"handshake is one round trip", func(*Link) {}, wait, 200 * time.Millisecond, nil},
		{"outage delays the connect", func(l *Link) { l.Outage(400 * time.Millisecond) }, wait, 400 * time.Millisecond, nil},
		{"blackhole times the connect out", func(l *Link) { l.Blackhole(true) }, 300 * time.Millisecond, 300 * time.Millisecond, context.DeadlineExceeded},
	}
	for _, tc := range tt {
		t.Run(tc.name, func(t *testing.T) {
			l := New(Conditions{Latency: 100 * time.Millisecond}, nil, 1)
			tc.setup(l)
			ctx, cancel := context.WithTimeout(context.Background(), tc.timeout)
			defer cancel()
			start := time.Now()
			c, err := l.Dialer(nil)(ctx, "tcp", addr)
			if c != nil {
				c.Close()
			}
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("dial: %v, want %v", err, tc.wantErr)
			}
			if d := time.Since(start); d < tc.min || d > tc.min+slack {
				t.Fatalf("dial took %v, want >= %v", d, tc.min)
			}
		})
	}
}

func TestDialAfterBlackholeLifts(t *testing.T) {
	l := New(Conditions{}, nil, 1)
	l.Blackhole(true)
	time.AfterFunc(200*time.Millisecond, func() { l.Blackhole(false) })
	start := time.Now()
	pair(t, l)
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Fatalf("dial through a blackhole took %v", d)
	}
}
