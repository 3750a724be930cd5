package cli

import (
	"context"
	"fmt"
	"net"
	"strconv"

	brokerpkg "github.com/devicejs/devicejs/broker"
)

// routing decides where the script's connections go (--broker) and what the client must trust.
type routing struct {
	// dial replaces the network dial of every connection; nil dials the script's own address.
	dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// trustCA, clientCert and clientKey are PEM the client uses unless --ssl-* overrides them.
	trustCA, clientCert, clientKey string
	close                          func() error
}

// Close stops whatever the routing started (the embedded broker).
func (r *routing) Close() error {
	if r.close == nil {
		return nil
	}
	return r.close()
}

// newRoutingWith interprets --broker: "" (connect where the script says), "embedded" (an
// in-process broker configured by bc) or HOST:PORT.
func newRoutingWith(broker string, bc brokerpkg.Config) (*routing, error) {
	switch broker {
	case "":
		return &routing{}, nil
	case "embedded":
		return newEmbeddedRouting(bc)
	}
	host, port, err := net.SplitHostPort(broker)
	if err != nil {
		return nil, fmt.Errorf("--broker: want \"embedded\" or HOST:PORT, got %q", broker)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 || host == "" {
		return nil, fmt.Errorf("--broker: bad address %q", broker)
	}
	target := net.JoinHostPort(host, port)
	var d net.Dialer
	return &routing{dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return d.DialContext(ctx, network, target)
	}}, nil
}
