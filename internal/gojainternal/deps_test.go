package gojainternal_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImports enforces the package's place: it imports goja (and the standard library) only,
// so every package that needs goja's internals can use it.
func TestImports(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go tool not found")
	}
	out, err := exec.Command(gobin, "list", "-deps", "github.com/devicejs/devicejs/internal/gojainternal").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.HasPrefix(dep, "github.com/devicejs/devicejs") && dep != "github.com/devicejs/devicejs/internal/gojainternal" {
			t.Errorf("gojainternal depends on %s", dep)
		}
		for _, bad := range []string{"paho", "mochi"} {
			if strings.Contains(dep, bad) {
				t.Errorf("gojainternal depends on %s", dep)
			}
		}
	}
}
