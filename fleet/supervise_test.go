package fleet_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/devicejs/devicejs/fleet"
)

// workerScript is a /bin/sh worker for Supervise tests: $1 is the summary path, $2 the shard
// "w/n", $3 the worker's first index. Each shape is what a worker process may do.
var workerShapes = map[string]string{
	// writes a summary of its shard with no ended instance, and notices for its first instance
	"ok": `printf '{"index":%d,"client_id":"dev%d"}\n' $3 $3 >&3
printf '{"version":1,"fleet_size":%d,"instances":%d,"shards":["%s"],"errors":{},"endings":{"finished":%d},"ended":[]}' $4 $5 $2 $5 > $1`,
	// reports its first instance's clientId, then dies by SIGKILL (the OOM killer's way)
	"crash": `printf '{"index":%d,"client_id":"dev%d"}\n' $3 $3 >&3
kill -9 $$`,
	// reports an instance ended with a script error, then exits 1 without a summary
	"exit1": `printf '{"index":%d,"client_id":"dev%d","reason":"script error"}\n' $3 $3 >&3
exit 1`,
	// grows without bound (tail buffers an endless line)
	"grow": `printf '{"index":%d,"client_id":"dev%d"}\n' $3 $3 >&3
exec tail /dev/zero`,
	// ignores SIGTERM and sleeps
	"stubborn": `trap '' TERM
exec sleep 60`,
	// exits on SIGTERM after writing a summary that lists its instances as terminated
	"polite": `trap 'printf "{\"version\":1,\"fleet_size\":%d,\"instances\":%d,\"shards\":[\"%s\"],\"errors\":{},\"endings\":{},\"ended\":[{\"index\":%d,\"client_id\":\"\",\"reason\":\"terminated\",\"detail\":\"\"}]}" $4 $5 $2 $3 > $1; kill $!; exit 143' TERM
sleep 60 & wait`,
	// writes garbage as notices and summary, then exits 0
	"garbage": `printf 'not json\n{"index":-5,"reason":"x"}\n' >&3
printf 'garbage' > $1`,
}

// shellWorkers returns a Command for Supervise that runs shape(w) as worker w.
func shellWorkers(n, workers int, shape func(w int) string) func(int, string) *exec.Cmd {
	return func(w int, summaryPath string) *exec.Cmd {
		sh := fleet.Shard{Index: w, Count: workers}
		lo, hi := sh.Range(n)
		return exec.Command("/bin/sh", "-c", workerShapes[shape(w)], "worker",
			summaryPath, sh.String(), fmt.Sprint(lo), fmt.Sprint(n), fmt.Sprint(hi-lo))
	}
}

// TestSupervise runs real worker processes of several shapes and checks the merged summary:
// a crashed, killed or garbage-writing worker's instances are listed as ended, with the
// reason and the clientIds it reported; healthy workers' summaries merge as they are.
func TestSupervise(t *testing.T) {
	const n, workers = 12, 3
	tt := []struct {
		name    string
		shapes  [workers]string
		maxRSS  int64
		cancel  bool           // end the context after 300 ms
		want    map[string]int // ended instances by reason
		wantIDs map[int]string // clientIds expected among the ended
		within  time.Duration
	}{
		{"all ok", [workers]string{"ok", "ok", "ok"}, 0, false, map[string]int{}, nil, 10 * time.Second},
		{"one crashes", [workers]string{"ok", "crash", "ok"}, 0, false,
			map[string]int{fleet.ReasonWorkerCrash: 4}, map[int]string{4: "dev4"}, 10 * time.Second},
		{"one exits without a summary", [workers]string{"exit1", "ok", "ok"}, 0, false,
			map[string]int{fleet.ReasonScriptError: 1, fleet.ReasonWorkerCrash: 3}, map[int]string{0: "dev0"}, 10 * time.Second},
		{"one outgrows its RSS", [workers]string{"ok", "ok", "grow"}, 64 << 20, false,
			map[string]int{fleet.ReasonMemory: 4}, map[int]string{8: "dev8"}, 20 * time.Second},
		{"garbage", [workers]string{"garbage", "ok", "ok"}, 0, false,
			map[string]int{fleet.ReasonWorkerCrash: 4}, nil, 10 * time.Second},
		{"stop: polite and stubborn", [workers]string{"polite", "stubborn", "polite"}, 0, true,
			map[string]int{fleet.ReasonTerminated: 2, fleet.ReasonWorkerCrash: 4}, nil, 10 * time.Second},
	}
	for _, tc := range tt {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tc.cancel {
				time.AfterFunc(300*time.Millisecond, cancel)
			}
			start := time.Now()
			sum, err := fleet.Supervise(ctx, fleet.SuperviseConfig{
				N: n, Workers: workers, MaxRSS: tc.maxRSS, Grace: time.Second,
				Command: shellWorkers(n, workers, func(w int) string { return tc.shapes[w] }),
			})
			took := time.Since(start)
			if err != nil {
				t.Fatal(err)
			}
			if took > tc.within {
				t.Errorf("took %v, want < %v", took, tc.within)
			}
			if sum.Instances != n || len(sum.Shards) != workers {
				t.Errorf("instances %d shards %v, want %d and %d shards", sum.Instances, sum.Shards, n, workers)
			}
			got := map[string]int{}
			ids := map[int]string{}
			for k, e := range sum.Ended {
				got[e.Reason]++
				ids[e.Index] = e.ClientID
				if k > 0 && sum.Ended[k-1].Index >= e.Index {
					t.Errorf("ended not sorted by index: %+v", sum.Ended)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("ended by reason %v, want %v\n%+v", got, tc.want, sum.Ended)
			}
			for i, id := range tc.wantIDs {
				if ids[i] != id {
					t.Errorf("ended[%d] clientId %q, want %q", i, ids[i], id)
				}
			}
			var text strings.Builder
			if err := sum.WriteText(&text); err != nil {
				t.Fatal(err)
			}
			if len(tc.want) > 0 && !strings.Contains(text.String(), "ended:") {
				t.Errorf("text summary lacks the ended instances:\n%s", text.String())
			}
		})
	}
}

// TestSuperviseForwardsSignal: the signal chosen by Stop reaches every worker; a nil signal
// sends none and the workers are killed after Grace.
func TestSuperviseForwardsSignal(t *testing.T) {
	for _, tc := range []struct {
		name   string
		sig    os.Signal
		reason string
	}{
		{"SIGTERM", syscall.SIGTERM, fleet.ReasonTerminated},
		{"none: killed after grace", nil, fleet.ReasonWorkerCrash},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(300*time.Millisecond, cancel)
			start := time.Now()
			sum, err := fleet.Supervise(ctx, fleet.SuperviseConfig{
				N: 2, Workers: 2, Grace: time.Second,
				Stop:    func(error) os.Signal { return tc.sig },
				Command: shellWorkers(2, 2, func(int) string { return "polite" }),
			})
			if err != nil {
				t.Fatal(err)
			}
			if took := time.Since(start); took > 8*time.Second {
				t.Errorf("took %v", took)
			}
			if len(sum.Ended) != 2 || sum.Ended[0].Reason != tc.reason || sum.Ended[1].Reason != tc.reason {
				t.Errorf("ended %+v, want both %s", sum.Ended, tc.reason)
			}
		})
	}
}

func TestSuperviseRejects(t *testing.T) {
	cmd := func(int, string) *exec.Cmd { return exec.Command("/bin/true") }
	for _, cfg := range []fleet.SuperviseConfig{
		{N: 0, Workers: 1, Command: cmd},
		{N: 1, Workers: 0, Command: cmd},
		{N: 1, Workers: 1},
	} {
		if _, err := fleet.Supervise(context.Background(), cfg); err == nil {
			t.Errorf("%+v: no error", cfg)
		}
	}
	_, err := fleet.Supervise(context.Background(), fleet.SuperviseConfig{N: 2, Workers: 2,
		Command: func(int, string) *exec.Cmd { return exec.Command("/nonexistent/devicejs") }})
	if err == nil {
		t.Error("a worker that cannot start: no error")
	}
}
