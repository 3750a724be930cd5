package main

import (
	"os"
	"path/filepath"
	"testing"
)

// TestCLIDocsUpToDate fails when docs/cli differs from what the commands generate; refresh it
// with `go run ./cmd/devicejs/gendocs docs/cli`.
func TestCLIDocsUpToDate(t *testing.T) {
	t.Parallel()
	fresh := t.TempDir()
	if err := genDocs(fresh); err != nil {
		t.Fatal(err)
	}
	committed := filepath.Join("..", "..", "..", "docs", "cli")
	want, _ := filepath.Glob(filepath.Join(fresh, "*.md"))
	have, _ := filepath.Glob(filepath.Join(committed, "*.md"))
	if len(want) != len(have) {
		t.Errorf("docs/cli has %d files, the commands generate %d: run go run ./cmd/devicejs/gendocs docs/cli", len(have), len(want))
	}
	for _, f := range want {
		w, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		h, err := os.ReadFile(filepath.Join(committed, filepath.Base(f)))
		if err != nil || string(h) != string(w) {
			t.Errorf("docs/cli/%s is stale: run go run ./cmd/devicejs/gendocs docs/cli", filepath.Base(f))
		}
	}
}
