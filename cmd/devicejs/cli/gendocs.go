package cli

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra/doc"
)

// GenDocs writes the Markdown reference of every command into dir (one file per command, as
// cobra's doc package names them), replacing the *.md files there.
func GenDocs(dir string) error {
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
	root := NewCmdRoot(&IOStreams{In: strings.NewReader(""), Out: os.Stdout, ErrOut: os.Stderr})
	root.DisableAutoGenTag = true // no date line: the files only change when the commands do
	for _, c := range root.Commands() {
		c.DisableAutoGenTag = true
	}
	return doc.GenMarkdownTree(root, dir)
}
