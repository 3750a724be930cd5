package fleet

import (
	"fmt"

	"github.com/devicejs/devicejs"
	"github.com/devicejs/devicejs/internal/embedroute"
	"github.com/devicejs/devicejs/link"
	"github.com/devicejs/devicejs/runtime"
)

// sharedRoute turns the route of the instances' configuration into one route shared by all
// of them: an Embedded broker is reached through one in-memory route (one CA, no socket per
// instance), and a Link is one emulated link (on Device.Clock, seeded by Device.LinkSeed) that
// every instance's connections go through, over Broker, Dial, the embedded route or the
// script's own address, as `devicejs fleet --link` has always meant it: the fleet's link is
// the network the fleet shares. The returned configuration carries the route in Dial (and the
// route's TLS trust unless TLS says otherwise); closeRoute releases it after the last instance.
func sharedRoute(base devicejs.Config) (shared devicejs.Config, closeRoute func(), err error) {
	closeRoute = func() {}
	if base.Embedded != nil {
		r, err := embedroute.New(base.Embedded.DialMemory)
		if err != nil {
			return base, nil, fmt.Errorf("fleet: embedded route: %w", err)
		}
		closeRoute = func() { r.Close() }
		base.Embedded, base.Dial = nil, r.Dial
		base.TLS.CA, base.TLS.Cert, base.TLS.Key = r.TLSDefaults(base.TLS.CA, base.TLS.Cert, base.TLS.Key)
	}
	if base.Link == "" {
		return base, closeRoute, nil
	}
	c, err := link.Parse(base.Link)
	if err != nil {
		closeRoute()
		return base, nil, fmt.Errorf("fleet: link: %w", err)
	}
	dial := base.Dial
	if base.Broker != "" {
		if dial, err = devicejs.AddressDialer(base.Broker); err != nil {
			closeRoute()
			return base, nil, fmt.Errorf("fleet: %w", err)
		}
		base.Broker = ""
	}
	if base.Clock == nil { // one device clock for the link and every instance
		base.Clock = runtime.NewWallClock()
		if ts := base.TimeScale; ts != 0 && ts != 1 { // checked by New (devicejs.New)
			base.Clock = runtime.NewScaledClock(ts)
		}
	}
	base.Dial = link.New(c, base.Clock, base.LinkSeed).Dialer(dial)
	base.Link = ""
	return base, closeRoute, nil
}
