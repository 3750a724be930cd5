package cli

import (
	"fmt"
	goruntime "runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Version is the devicejs release, set at build time with
// -ldflags "-X github.com/devicejs/devicejs/cmd/devicejs/cli.Version=v1.2.3".
var Version = "dev"

// NewCmdVersion builds `devicejs version`.
func NewCmdVersion(ios *IOStreams) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the devicejs version and the versions of its engine parts",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			fmt.Fprintf(ios.Out, "devicejs %s\n", Version)
			fmt.Fprintf(ios.Out, "  go      %s\n", goruntime.Version())
			for _, dep := range []struct{ name, path string }{
				{"goja", "github.com/dop251/goja"},
				{"paho", "github.com/eclipse/paho.mqtt.golang"},
				{"mochi", "github.com/mochi-mqtt/server/v2"},
			} {
				fmt.Fprintf(ios.Out, "  %-7s %s\n", dep.name, moduleVersion(dep.path))
			}
			return nil
		},
	}
}

// moduleVersion reports the version of a module linked into this binary.
func moduleVersion(path string) string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	for _, m := range info.Deps {
		if m.Path == path {
			return m.Version
		}
	}
	return "unknown"
}
