package sandbox_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImports enforces the boundary: the sandbox imports goja, regexp2 and
// internal/gojainternal, never package runtime (which imports it: the event loop hands the
// sandbox its hooks as a sandbox.Host), the MQTT stack or anything built on top of it.
func TestImports(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go tool not found")
	}
	out, err := exec.Command(gobin, "list", "-deps", "github.com/devicejs/devicejs/runtime/sandbox").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.HasPrefix(dep, "github.com/devicejs/devicejs") &&
			dep != "github.com/devicejs/devicejs/runtime/sandbox" && dep != "github.com/devicejs/devicejs/internal/gojainternal" {
			t.Errorf("sandbox depends on %s", dep)
		}
		for _, bad := range []string{"paho", "mochi"} {
			if strings.Contains(dep, bad) {
				t.Errorf("sandbox depends on %s", dep)
			}
		}
	}
}
