package devtest_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package when a test leaves goroutines behind (devices, brokers, peers,
// link connections must all be gone after each file).
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
