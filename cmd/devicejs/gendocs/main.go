// Command gendocs writes the devicejs CLI reference (docs/cli/*.md) from the cobra commands:
//
//	go run ./cmd/devicejs/gendocs docs/cli
//
// It lives here rather than in the cli package so that the devicejs binary does not link
// cobra's doc package (with blackfriday, go-md2man and yaml.v3), whose package initialisers
// every `devicejs run` would otherwise pay at start (docs/performance.md, "Startup").
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra/doc"

	"github.com/devicejs/devicejs/cmd/devicejs/cli"
)

func main() {
	dir := "docs/cli"
	if len(os.Args) > 1 {
		dir = os.Args[1]
	}
	if err := genDocs(dir); err != nil {
		fmt.Fprintln(os.Stderr, "gendocs:", err)
		os.Exit(1)
	}
}

// genDocs writes the Markdown reference of every command into dir (one file per command, as
// cobra's doc package names them), replacing the *.md files there.
func genDocs(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	old, err := filepath.Glob(filepath.Join(dir, "*.md"))
	if err != nil {
		return err
	}
	for _, f := range old {
		if err := os.Remove(f); err != nil {
			return err
		}
	}
	root := cli.NewCmdRoot(&cli.IOStreams{In: strings.NewReader(""), Out: os.Stdout, ErrOut: os.Stderr})
	root.DisableAutoGenTag = true // no date line: the files only change when the commands do
	for _, c := range root.Commands() {
		c.DisableAutoGenTag = true
	}
	return doc.GenMarkdownTree(root, dir)
}
