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

// checkBrokerFlag checks --broker: "", "embedded" or HOST:PORT with a host and a port from 1
// to 65535.
func checkBrokerFlag(broker string) error {
	if broker == "" || broker == "embedded" {
		return nil
	}
	host, port, err := net.SplitHostPort(broker)
	if err != nil {
		return fmt.Errorf("--broker: want \"embedded\" or HOST:PORT, got %q", broker)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 || host == "" {
		return fmt.Errorf("--broker: bad address %q", broker)
	}
	return nil
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
	if err := checkBrokerFlag(broker); err != nil {
		return nil, err
	}
	target := broker
	var d net.Dialer
	return &routing{dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return d.DialContext(ctx, network, target)
	}}, nil
}
