// Command gendocs writes the devicejs CLI reference (docs/cli/*.md) from the cobra commands:
//
//	go run ./cmd/devicejs/gendocs docs/cli
package main

import (
	"fmt"
	"os"

	"github.com/devicejs/devicejs/cmd/devicejs/cli"
)

func main() {
	dir := "docs/cli"
	if len(os.Args) > 1 {
		dir = os.Args[1]
	}
	if err := cli.GenDocs(dir); err != nil {
		fmt.Fprintln(os.Stderr, "gendocs:", err)
		os.Exit(1)
	}
}
