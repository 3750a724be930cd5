package runtime_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImports enforces the architecture: runtime imports goja, its sandbox
// (runtime/sandbox) and internal/gojainternal, not the MQTT stack, the other
// internal packages or the packages built on top of it.
func TestImports(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go tool not found")
	}
	out, err := exec.Command(gobin, "list", "-deps", "github.com/devicejs/devicejs/runtime").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.HasPrefix(dep, "github.com/devicejs/devicejs") {
			switch dep {
			case "github.com/devicejs/devicejs/runtime", "github.com/devicejs/devicejs/runtime/sandbox",
				"github.com/devicejs/devicejs/internal/gojainternal":
			default:
				t.Errorf("runtime depends on %s", dep)
			}
			continue
		}
		for _, bad := range []string{"paho", "mochi", "devicejs/mqttcore", "devicejs/bindings", "devicejs/cmd", "devicejs/broker"} {
			if strings.Contains(dep, bad) {
				t.Errorf("runtime depends on %s", dep)
			}
		}
	}
}
