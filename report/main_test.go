package report_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that no test leaves a goroutine behind (the live server, the recorder).
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
