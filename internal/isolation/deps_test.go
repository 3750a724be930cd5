package isolation

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImports enforces the architecture (docs/architecture.md): isolation sits below the root
// package (which adapts it as RunIsolated) and beside fleet, so it imports neither, nor the
// CLI it starts as a child, nor a broker; childproc and exitcode import nothing of devicejs.
func TestImports(t *testing.T) {
	for pkg, bad := range map[string][]string{
		"github.com/devicejs/devicejs/internal/isolation": {"devicejs/cmd", "devicejs/fleet", "devicejs/bindings", "devicejs/broker", "devicejs/devtest", "devicejs/report", "mochi"},
		"github.com/devicejs/devicejs/internal/childproc": {"github.com/devicejs/"},
		"github.com/devicejs/devicejs/internal/exitcode":  {"github.com/devicejs/"},
	} {
		out, err := exec.Command("go", "list", "-deps", pkg).Output()
		if err != nil {
			t.Fatalf("go list %s: %v", pkg, err)
		}
		for _, dep := range strings.Fields(string(out)) {
			if dep == "github.com/devicejs/devicejs" {
				t.Errorf("%s depends on the root package", pkg)
			}
			for _, b := range bad {
				if strings.Contains(dep, b) && dep != pkg {
					t.Errorf("%s depends on %s", pkg, dep)
				}
			}
		}
	}
}
