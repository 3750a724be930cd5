package cli

import (
	"fmt"

	"github.com/spf13/pflag"

	"github.com/devicejs/devicejs/link"
)

// linkSeed seeds the link's jitter and loss: the same --link gives the same delays every run.
const linkSeed = 1

// addLinkFlag registers --link, shared by run and fleet.
func addLinkFlag(f *pflag.FlagSet, opts *RunOptions) {
	f.StringVar(&opts.Link, "link", "", "emulate the device's network link: a profile (wifi, lte, 3g, edge, 2g, satellite, flaky) "+
		"and/or fields, e.g. 'latency=200ms,jitter=50ms,loss=1%,bandwidth=256kbit' or '3g,loss=5%' (see docs/link.md)")
}

// parseLinkFlag reads --link; an empty flag is no link. Errors are usage errors naming the field.
func parseLinkFlag(opts *RunOptions) (link.Conditions, bool, error) {
	if opts.Link == "" {
		return link.Conditions{}, false, nil
	}
	c, err := link.Parse(opts.Link)
	if err != nil {
		return link.Conditions{}, false, usageError(fmt.Errorf("--link: %w", err))
	}
	return c, true, nil
}
