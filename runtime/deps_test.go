package runtime_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImports enforces the architecture: runtime imports goja, not the MQTT
// stack or the packages built on top of it.
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
		for _, bad := range []string{"paho", "mochi", "devicejs/mqttcore", "devicejs/bindings", "devicejs/cmd", "devicejs/broker"} {
			if strings.Contains(dep, bad) {
				t.Errorf("runtime depends on %s", dep)
			}
		}
	}
}
