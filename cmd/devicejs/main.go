// Command devicejs runs IoT device scripts written against a device firmware's built-in `mqtt`
// object on an ordinary computer, unchanged.
package main

import (
	"os"

	"github.com/devicejs/devicejs/cmd/devicejs/cli"
)

func main() {
	os.Exit(int(cli.Main()))
}
