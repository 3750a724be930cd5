package devtest_test

import (
	"testing"
	"time"

	"github.com/devicejs/devicejs/devtest"
	"github.com/devicejs/devicejs/internal/testbroker"
)

// TestIssue18Files: a half-open link of 3 minutes against keepalive 30 s and keepalive 0 (A),
// and peer subscriptions across broker restarts (D), each on device time: minutes of device
// time in little wall time. The restart file also runs on mosquitto (external broker, restarted
// through Options.Control).
func TestIssue18Files(t *testing.T) {
	mosq := func(t *testing.T) devtest.Options {
		b := testbroker.Mosquitto(t)
		return devtest.Options{Broker: b.Addr(), Control: b}
	}
	for _, tc := range []struct {
		name  string
		file  string
		tests int
		opts  func(*testing.T) devtest.Options
	}{
		{"keepalive, embedded", "testdata/keepalive/keepalive.test.js", 2, nil},
		{"peers across restarts, embedded", "testdata/peers/restart.test.js", 2, nil},
		{"peers across restarts, mosquitto", "testdata/peers/restart.test.js", 2, mosq},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var o devtest.Options
			if tc.opts != nil {
				o = tc.opts(t)
			}
			start := time.Now()
			r := runFile(t, tc.file, o)
			if r.Err != nil {
				t.Fatalf("file error: %v", r.Err)
			}
			if len(r.Tests) != tc.tests {
				t.Fatalf("%d tests, want %d", len(r.Tests), tc.tests)
			}
			for _, tr := range r.Tests {
				if tr.Status != devtest.Passed {
					t.Errorf("%s: %s: %s", tr.Name, tr.Status, tr.Message)
				}
			}
			// Generous (-race, loaded machine): the keepalive file spends 6.5 minutes of device time.
			if el := time.Since(start); el > 60*time.Second {
				t.Errorf("took %v of wall time", el)
			}
		})
	}
}
