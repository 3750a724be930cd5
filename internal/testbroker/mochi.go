package testbroker

import (
	"testing"

	mqtt "github.com/mochi-mqtt/server/v2"

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

// WithConfig makes Mochi start from c instead of its default (a plain TCP listener on
// 127.0.0.1:0, anonymous access): c chooses the listener kinds (TCPAddr and TLSAddr, ""
// for none; the memory listeners are always there, see broker.Broker.DialMemory), the users
// or user table, the ACL, the certificates, the queue bounds. WithTLS and WithUser still apply
// on top of it. Mochi only.
func WithConfig(c broker.Config) Option {
	return func(cfg *config) { cfg.base = &c }
}

// WithHook adds a mochi hook to the broker before it starts (again at each Restart), e.g. one
// that records disconnections or delays publishes. A hook that provides OnConnectAuthenticate
// or OnACLCheck and returns true admits what the broker's own check refuses, so a test hook
// should provide only what it observes. Mochi only.
func WithHook(h mqtt.Hook) Option {
	return func(cfg *config) { cfg.hooks = append(cfg.hooks, h) }
}

// Mochi starts the embedded mochi broker (package broker, inline client included) with a
// plain listener on 127.0.0.1 on a free port, plus a TLS one with WithTLS, and stops it at the
// end of the test. Options: WithTLS, WithUser, WithConfig, WithHook.
func Mochi(t testing.TB, opts ...Option) *Broker {
	t.Helper()
	b := &Broker{t: t, cfg: buildConfig(t, opts), mochi: &mochiState{}, addr: "127.0.0.1:0"}
	if base := b.cfg.base; base != nil {
		b.addr, b.tlsAddr = base.TCPAddr, base.TLSAddr
	}
	if b.cfg.tls != nil && b.tlsAddr == "" {
		b.tlsAddr = "127.0.0.1:0"
	}
	b.startMochi()
	t.Cleanup(b.Stop)
	return b
}

// MochiConfig is Mochi(t, WithConfig(c)).MochiBroker(): an embedded broker configured by c,
// closed at the end of the test.
func MochiConfig(t testing.TB, c broker.Config) *broker.Broker {
	t.Helper()
	return Mochi(t, WithConfig(c)).MochiBroker()
}

// MochiBroker returns the embedded broker behind a Mochi test broker (nil
// for mosquitto), e.g. for DialMemory or Publish. Restart replaces it.
func (b *Broker) MochiBroker() *broker.Broker {
	if b.mochi == nil {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.mochi.b
}

// startMochi starts the broker on b.addr and b.tlsAddr (the ports of the previous start at a
// Restart, retried within Wait while the old listener's port is not yet free).
func (b *Broker) startMochi() {
	b.t.Helper()
	c := broker.Config{}
	if b.cfg.base != nil {
		c = *b.cfg.base
	}
	c.TCPAddr, c.TLSAddr = b.addr, b.tlsAddr
	if b.cfg.users != nil {
		c.Users = b.cfg.users
	}
	if b.cfg.tls != nil {
		c.TLS = serverTLSConfig(b.cfg.tls)
	}
	var mb *broker.Broker
	var err error
	Eventually(Wait, func() bool {
		if mb, err = broker.New(c); err != nil {
			return true
		}
		for _, h := range b.cfg.hooks {
			if err = mb.Server().AddHook(h, nil); err != nil {
				return true
			}
		}
		if err = mb.Start(); err != nil {
			_ = mb.Close()
			return false
		}
		return true
	})
	if err != nil {
		b.t.Fatalf("testbroker: mochi: %v", err)
	}
	b.mochi.b = mb
	b.addr = mb.Addr()
	b.tlsAddr = mb.TLSAddr()
}
