package cli_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/devicejs/devicejs/fleet"
	"github.com/devicejs/devicejs/internal/testbroker"
)

// TestFleetMemoryGuardOneProcess: `devicejs fleet -n 5 --max-memory 128MiB` in one process,
// where one instance calls a built-in that would allocate gigabytes at once: its memory guard
// (the fleet's budget, devicejs.Config.MemoryGuards) ends that instance alone, before it
// allocates, with reason "memory budget"; the four others run to --for; exit 1; the peak RSS
// of the process stays far below 1 GB (the call would take 2.4 GB or more).
func TestFleetMemoryGuardOneProcess(t *testing.T) {
	tt := []struct{ name, body string }{
		{"fill", `new Array(1.5e8).fill(1); print('SURVIVED');`},
		{"Array.from", `Array.from({length: 2e8}); print('SURVIVED');`},
	}
	for _, tc := range tt {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // its own broker and process (the RSS measured is that process's)
			mq := testbroker.Mosquitto(t)
			p := script(t, "bomb.js", deviceSrc("bomb", "BOMB", tc.body))
			args := []string{"-n", "5", "--client-id", "dev-{i}", "--broker", mq.Addr(),
				"--max-memory", "128MiB", "--for", "4s", "--timeout", "40s", p}
			r := runFleetWatched(t, fleetScenario{args: args, want: 5,
				trigger: func() { testbroker.Pub(t, mq.Addr(), "bomb", "go", 1) }})
			t.Logf("exit %d after %v; peak RSS %.0f MiB", r.code, r.exitedAt.Sub(r.start).Round(time.Millisecond),
				float64(r.peakTree)/(1<<20))
			bombers := triggered(r.stdout, "BOMB")
			if len(bombers) != 1 {
				t.Fatalf("instances that got the message %v, want one\nstdout: %s", bombers, r.stdout)
			}
			by := endedIndices(t, r.summary)
			if fmt.Sprint(by[fleet.ReasonMemory]) != fmt.Sprint(bombers) || len(r.summary.Ended) != 1 ||
				!strings.Contains(r.summary.Ended[0].Detail, "would allocate") {
				t.Errorf("ended %+v, want only %v, at the memory budget by its guard", r.summary.Ended, bombers)
			}
			if r.summary.Endings["for elapsed"] != 4 {
				t.Errorf("endings %v: the 4 others should have run --for", r.summary.Endings)
			}
			if r.code != 1 || strings.Contains(r.stdout, "SURVIVED") {
				t.Errorf("exit %d (want 1); stdout %s\nstderr: %s", r.code, r.stdout, r.stderr)
			}
			if r.peakTree > 512<<20 {
				t.Errorf("peak RSS %d MiB: the call allocated", r.peakTree>>20)
			}
		})
	}
}
