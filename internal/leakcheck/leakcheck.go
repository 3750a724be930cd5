// Package leakcheck runs a test package's tests and then checks, with goleak, that they left no
// goroutine behind. It gives goroutines that end by themselves a grace period: a paho call
// left behind by a connection that was lost while the call queued its packet ends at paho's
// queueing timeout, 10 s (mqttcore, callPahoUnlessLost), longer than goleak's own retries wait.
package leakcheck

import (
	"fmt"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// Grace is how long goroutines still running after the tests may take to end.
const Grace = 15 * time.Second

// Main runs m and exits with its code, or with 1 if goroutines other than those opts ignore
// are still running Grace after the tests passed. Call it from TestMain.
func Main(m *testing.M, opts ...goleak.Option) {
	code := m.Run()
	if code == 0 {
		if err := settle(Grace, opts); err != nil {
			fmt.Fprintf(os.Stderr, "leakcheck: goroutines still running %v after the tests: %v\n", Grace, err)
			code = 1
		}
	}
	os.Exit(code)
}

// settle polls goleak.Find until it finds nothing or d has passed.
func settle(d time.Duration, opts []goleak.Option) error {
	deadline := time.Now().Add(d)
	for {
		err := goleak.Find(opts...)
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}
