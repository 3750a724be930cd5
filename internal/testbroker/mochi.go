package testbroker

import (
	"testing"

	"github.com/devicejs/devicejs/broker"
)

type mochiState struct {
	b *broker.Broker
}

func (m *mochiState) stop() {
	if m.b != nil {
		_ = m.b.Close()
	}
}

// Mochi starts the embedded mochi broker (package broker) on 127.0.0.1 with
// a free port and stops it at the end of the test.
func Mochi(t testing.TB, opts ...Option) *Broker {
	t.Helper()
	b := &Broker{t: t, cfg: buildConfig(t, opts), mochi: &mochiState{}, addr: "127.0.0.1:0"}
	if b.cfg.tls != nil {
		b.tlsAddr = "127.0.0.1:0"
	}
	b.startMochi()
	t.Cleanup(b.Stop)
	return b
}

// MochiBroker returns the embedded broker behind a Mochi test broker (nil
// for mosquitto), e.g. for DialMemory. Restart replaces it.
func (b *Broker) MochiBroker() *broker.Broker {
	if b.mochi == nil {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.mochi.b
}

func (b *Broker) startMochi() {
	b.t.Helper()
	c := broker.Config{TCPAddr: b.addr, TLSAddr: b.tlsAddr, Users: b.cfg.users}
	if b.cfg.tls != nil {
		c.TLS = serverTLSConfig(b.cfg.tls)
	}
	mb, err := broker.New(c)
	if err != nil {
		b.t.Fatalf("testbroker: mochi: %v", err)
	}
	if err := mb.Start(); err != nil {
		b.t.Fatalf("testbroker: mochi: %v", err)
	}
	b.mochi.b = mb
	b.addr = mb.Addr()
	if b.cfg.tls != nil {
		b.tlsAddr = mb.TLSAddr()
	}
}
