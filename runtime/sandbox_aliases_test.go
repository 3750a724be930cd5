//lint:file-ignore SA1019 this file checks the deprecated aliases themselves.

package runtime_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/devicejs/devicejs/runtime"
	"github.com/devicejs/devicejs/runtime/sandbox"
)

// TestSandboxAliases: the names that moved to runtime/sandbox still work here and are the
// sandbox's own (same values, same error type for errors.As).
func TestSandboxAliases(t *testing.T) {
	if runtime.MaxSourceBytes != sandbox.MaxSourceBytes || runtime.MaxSourceDepth != sandbox.MaxSourceDepth ||
		runtime.MaxSourceNesting != sandbox.MaxSourceNesting || runtime.MaxJSONDepth != sandbox.MaxJSONDepth ||
		runtime.MaxJoinDepth != sandbox.MaxJoinDepth || runtime.MaxStringLength != sandbox.MaxStringLength ||
		runtime.RegexpMatchTimeout != sandbox.RegexpMatchTimeout {
		t.Error("a limit constant differs from the sandbox's")
	}
	deep := strings.Repeat("(", sandbox.MaxSourceDepth+1)
	var b *runtime.SourceBoundError
	if err := runtime.CheckSource(deep); !errors.As(err, &b) || b.Message != sandbox.CheckSource(deep).Error() {
		t.Errorf("runtime.CheckSource(deep) = %v, want the sandbox's *SourceBoundError", err)
	}
	if runtime.JSONDepth("[[1]]") != 2 || runtime.AllocationCap() != sandbox.AllocationCap() || runtime.AllocGuardsOn() != sandbox.AllocGuardsOn() {
		t.Error("JSONDepth, AllocationCap or AllocGuardsOn differ from the sandbox's")
	}
}
