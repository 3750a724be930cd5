package cli

import (
	"github.com/devicejs/devicejs/broker"
	"github.com/devicejs/devicejs/internal/embedroute"
)

// newEmbeddedRouting starts the in-process broker and routes every connection of the script to
// it over in-memory connections (no socket, no file descriptor), terminating TLS in process
// (see internal/embedroute): the client is told to trust the route's CA and offered its client
// certificate.
func newEmbeddedRouting(bc broker.Config) (*routing, error) {
	b, err := broker.New(bc)
	if err != nil {
		return nil, err
	}
	if err := b.Start(); err != nil {
		return nil, err
	}
	r, err := embedroute.New(b.DialMemory)
	if err != nil {
		b.Close()
		return nil, err
	}
	return &routing{
		dial:       r.Dial,
		trustCA:    r.TrustCA,
		clientCert: r.ClientCert,
		clientKey:  r.ClientKey,
		close: func() error {
			r.Close()
			return b.Close()
		},
	}, nil
}
