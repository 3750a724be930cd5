package cli_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/devicejs/devicejs/fleet"
	"github.com/devicejs/devicejs/internal/syncbuf"
	"github.com/devicejs/devicejs/internal/testbroker"
)

// fleetRun is one run of `devicejs fleet` watched by the test: its exit, the peak resident
// memory of its process tree (read by the test from /proc), and its JSON summary.
type fleetRun struct {
	code            int
	stdout, stderr  string
	peakTree        uint64        // bytes
	stopToExit      time.Duration // from the signal to the exit
	summary         fleet.Summary
	triggeredAt     time.Time
	signalledAt     time.Time
	exitedAt, start time.Time
}

// fleetScenario drives one run: once `started` lines (one per instance) reached want, it
// calls trigger (e.g. publish to the leak topic), then sends sig if not 0 once stdout holds
// sigWhen.
type fleetScenario struct {
	args    []string
	want    int // "started" lines to wait for
	trigger func()
	sig     syscall.Signal
	sigWhen string
}

// runFleetWatched runs the scenario, bounded to 90 s.
func runFleetWatched(t *testing.T, sc fleetScenario) fleetRun {
	t.Helper()
	sumPath := filepath.Join(t.TempDir(), "summary.json")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, append([]string{"fleet", "--summary-json", sumPath}, sc.args...)...)
	out, errOut := &syncbuf.Buffer{}, &syncbuf.Buffer{}
	cmd.Stdout, cmd.Stderr = out, errOut
	var r fleetRun
	r.start = time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	var err error
wait:
	for {
		select {
		case err = <-done:
			r.exitedAt = time.Now()
			break wait
		case <-tick.C:
			r.peakTree = max(r.peakTree, treeRSS(cmd.Process.Pid))
			if r.triggeredAt.IsZero() && strings.Count(out.String(), "started") >= sc.want {
				r.triggeredAt = time.Now()
				if sc.trigger != nil {
					sc.trigger()
				}
			}
			if sc.sig != 0 && r.signalledAt.IsZero() && !r.triggeredAt.IsZero() && strings.Contains(out.String(), sc.sigWhen) {
				r.signalledAt = time.Now()
				if err := cmd.Process.Signal(sc.sig); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	r.stdout, r.stderr = out.String(), errOut.String()
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("devicejs fleet: %v", err)
	}
	if r.triggeredAt.IsZero() {
		t.Fatalf("only %d of %d instances started (exit %d)\nstderr: %s", strings.Count(r.stdout, "started"), sc.want, r.code, r.stderr)
	}
	if !r.signalledAt.IsZero() {
		r.stopToExit = r.exitedAt.Sub(r.signalledAt)
	}
	f, err := os.Open(sumPath)
	if err != nil {
		t.Fatalf("no summary: %v\nstderr: %s", err, r.stderr)
	}
	defer f.Close()
	if r.summary, err = fleet.ReadSummary(f); err != nil {
		t.Fatalf("summary: %v\nstderr: %s", err, r.stderr)
	}
	return r
}

// treeRSS sums VmRSS over pid and its descendants, read from /proc.
func treeRSS(pid int) uint64 {
	children := map[int][]int{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so read after the last ')'.
		s := string(b)
		fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(fields) > 1 {
			if pp, err := strconv.Atoi(fields[1]); err == nil {
				children[pp] = append(children[pp], p)
			}
		}
	}
	var sum uint64
	stack := []int{pid}
	for len(stack) > 0 {
		p := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		sum += vmRSS(p)
		stack = append(stack, children[p]...)
	}
	return sum
}

func vmRSS(pid int) uint64 {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb * 1024
		}
	}
	return 0
}

// triggered returns the indices of the "[i] <word>" lines of stdout.
func triggered(stdout, word string) []int {
	var idx []int
	for _, m := range regexp.MustCompile(`\[(\d+)\] `+word).FindAllStringSubmatch(stdout, -1) {
		i, _ := strconv.Atoi(m[1])
		idx = append(idx, i)
	}
	return idx
}

// endedIndices returns the ended instances' indices by reason, and checks their clientIds.
func endedIndices(t *testing.T, s fleet.Summary) map[string][]int {
	t.Helper()
	by := map[string][]int{}
	for _, e := range s.Ended {
		by[e.Reason] = append(by[e.Reason], e.Index)
		if e.Reason != fleet.ReasonNotStarted && e.ClientID != fmt.Sprintf("dev-%d", e.Index) {
			t.Errorf("ended %+v: clientId, want dev-%d", e, e.Index)
		}
	}
	return by
}

// deviceSrc connects to the broker, subscribes to the shared subscription $share/g/<topic>
// (so one published message reaches exactly one instance) and runs body on that message.
func deviceSrc(topic, word, body string) string {
	return `var c = mqtt.connect('mqtt://broker.example:1883', {clientId: 'x', recvBuffSize: 4096});
var hold = [];
c.on('connect', function () { c.subscribe('$share/g/` + topic + `', {qos: 1}, function () { print('started'); }); });
c.on('message', function () { print('` + word + `'); ` + body + ` });
setInterval(function () {}, 1000);
`
}

// leakBodies grow the heap of the instance that gets the message.
var leakBodies = []struct{ name, body string }{
	{"typed arrays in a timer", `setInterval(function () { var a = new Float64Array(1 << 20); a.fill(1); hold.push(a); }, 5);`},
	{"one huge built-in call", `hold.push(new Array(3e7).fill(0));`},
}

// TestFleetLeakingDeviceEnded: one device among many that outgrows its memory is ended with
// reason "memory budget": alone, when its allocations go through a guarded built-in (the typed
// array constructor's guard stops the allocating instance before it allocates, in a worker or
// in one process), else the instances of its worker; the process tree's peak RSS stays under
// twice --max-memory; the others run to --for; the summary names the ended ones with their
// clientIds; exit 1.
func TestFleetLeakingDeviceEnded(t *testing.T) {
	tt := []struct {
		name    string
		n       int
		workers int
		budget  int64
		body    string
	}{
		{"20 devices in 5 workers, " + leakBodies[0].name, 20, 5, 256 << 20, leakBodies[0].body},
		{"6 devices in 6 workers, " + leakBodies[1].name, 6, 6, 256 << 20, leakBodies[1].body},
		{"5 devices in one process, " + leakBodies[0].name, 5, 0, 128 << 20, leakBodies[0].body},
	}
	for _, tc := range tt {
		t.Run(tc.name, func(t *testing.T) {
			// Its own broker (the fleets' clientIds and shared subscription would meet on one),
			// its own process tree (the RSS measured is that tree's): the runs share nothing.
			t.Parallel()
			mq := testbroker.Mosquitto(t)
			p := script(t, "leak.js", deviceSrc("leak", "LEAKING", tc.body))
			args := []string{"-n", strconv.Itoa(tc.n), "--client-id", "dev-{i}", "--broker", mq.Addr(),
				"--max-memory", strconv.FormatInt(tc.budget, 10), "--for", "5s", "--timeout", "40s"}
			if tc.workers > 0 {
				args = append(args, "--workers", strconv.Itoa(tc.workers))
			}
			r := runFleetWatched(t, fleetScenario{args: append(args, p), want: tc.n,
				trigger: func() { testbroker.Pub(t, mq.Addr(), "leak", "go", 1) }})
			t.Logf("exit %d after %v; peak RSS of the process tree %.0f MiB (budget %d MiB)",
				r.code, r.exitedAt.Sub(r.start).Round(time.Millisecond), float64(r.peakTree)/(1<<20), tc.budget>>20)
			leakers := triggered(r.stdout, "LEAKING")
			if len(leakers) != 1 {
				t.Fatalf("leaking instances %v, want one\nstdout: %s", leakers, r.stdout)
			}
			want := leakers // the guard ends the allocating instance alone
			by := endedIndices(t, r.summary)
			if fmt.Sprint(by[fleet.ReasonMemory]) != fmt.Sprint(want) || len(r.summary.Ended) != len(want) {
				t.Errorf("ended %+v, want %v at the memory budget and nothing else", r.summary.Ended, want)
			}
			if r.code != 1 || !strings.Contains(r.stderr, "memory budget") {
				t.Errorf("exit %d, want 1 with the memory budget named\nstderr: %s", r.code, r.stderr)
			}
			if r.summary.Endings["for elapsed"] != tc.n-len(want) {
				t.Errorf("endings %v: the %d others should have run --for", r.summary.Endings, tc.n-len(want))
			}
			if r.peakTree > uint64(2*tc.budget) {
				t.Errorf("peak RSS of the process tree %d MiB, over twice the budget %d MiB", r.peakTree>>20, tc.budget>>20)
			}
		})
	}
}

// TestFleetStuckBuiltinStops: an instance stuck in a long built-in call (sorting 1.5 million
// numbers as strings, over 10 s) does not keep `fleet` past --timeout or a first SIGTERM
// (SIGINT takes the same path, cancelOnSignals, measured for run by TestRunawayScriptsStop): it
// exits with 3 or 143 within a few seconds, in one process and with workers, and its summary
// lists the stuck instance with the reason. Building the array is interruptible and takes
// seconds on a loaded machine, so the hard-stop message is required only when the sort had
// begun ("SORTING") before the stop.
func TestFleetStuckBuiltinStops(t *testing.T) {
	body := `var a = '0,'.repeat(1.5e6 - 1).split(',').map(Math.random); print('SORTING'); a.sort(); print('sorted');`
	const timeout = 5 * time.Second
	tt := []struct {
		name    string
		workers int
		sig     syscall.Signal
		code    int
		reason  string
	}{
		{"one process, --timeout", 0, 0, 3, fleet.ReasonTimeout},
		{"2 workers, --timeout", 2, 0, 3, fleet.ReasonTimeout},
		{"2 workers, SIGTERM", 2, syscall.SIGTERM, 143, fleet.ReasonTerminated},
	}
	for _, tc := range tt {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // its own broker and process; together, the sorts only get slower
			mq := testbroker.Mosquitto(t)
			p := script(t, "stuck.js", deviceSrc("stuck", "GOT", body))
			args := []string{"-n", "4", "--client-id", "dev-{i}", "--broker", mq.Addr(), "--max-memory", "2GiB",
				"--workers", strconv.Itoa(tc.workers)}
			if tc.sig == 0 {
				args = append(args, "--timeout", timeout.String())
			}
			r := runFleetWatched(t, fleetScenario{args: append(args, p), want: 4, sig: tc.sig, sigWhen: "SORTING",
				trigger: func() { testbroker.Pub(t, mq.Addr(), "stuck", "go", 1) }})
			stop := r.stopToExit
			if tc.sig == 0 { // from the --timeout, counted from before the process started
				stop = r.exitedAt.Sub(r.start) - timeout
			}
			t.Logf("exit %d, %v after the stop", r.code, stop.Round(time.Millisecond))
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d\nstderr: %s", r.code, tc.code, r.stderr)
			}
			if stop > 7*time.Second {
				t.Errorf("took %v after the stop, want a few seconds", stop)
			}
			got, sorting := triggered(r.stdout, "GOT"), triggered(r.stdout, "SORTING")
			if len(got) != 1 || len(sorting) > 1 || strings.Contains(r.stdout, "sorted") {
				t.Fatalf("got %v, sorting %v; want one instance stuck\nstdout: %s", got, sorting, r.stdout)
			}
			by := endedIndices(t, r.summary)
			if len(r.summary.Ended) != 4 || len(by[tc.reason]) != 4 {
				t.Errorf("ended %+v, want all 4 with %q", r.summary.Ended, tc.reason)
			}
			if len(sorting) == 1 && !strings.Contains(r.stderr, "did not stop within 2s") {
				t.Errorf("the sort had begun, but stderr lacks the hard-stop message: %s", r.stderr)
			}
			if len(sorting) == 0 {
				t.Logf("the stop came before the sort began (a loaded machine): no hard stop needed")
			}
		})
	}
}

// TestFleetWorkerCrashReported: a worker killed from outside (SIGKILL, as the OOM killer does)
// has its instances listed as ended by "worker crash" with their clientIds; the other workers'
// instances run to --for; exit 1.
func TestFleetWorkerCrashReported(t *testing.T) {
	mq := testbroker.Mosquitto(t)
	p := script(t, "idle.js", deviceSrc("idle", "GOT", ""))
	var supervisor int
	r := runFleetWatched(t, fleetScenario{
		args: []string{"-n", "6", "--workers", "3", "--client-id", "dev-{i}", "--broker", mq.Addr(), "--for", "4s", "--timeout", "40s", p},
		want: 6,
		trigger: func() {
			// the first worker found among the supervisor's children
			supervisor = findSupervisor(t)
			kids := childPIDs(supervisor)
			if len(kids) != 3 {
				t.Errorf("supervisor %d has children %v, want 3 workers", supervisor, kids)
				return
			}
			if err := syscall.Kill(kids[0], syscall.SIGKILL); err != nil {
				t.Error(err)
			}
		},
	})
	by := endedIndices(t, r.summary)
	if len(by[fleet.ReasonWorkerCrash]) != 2 || len(r.summary.Ended) != 2 {
		t.Errorf("ended %+v, want one worker's 2 instances by worker crash", r.summary.Ended)
	}
	if r.summary.Endings["for elapsed"] != 4 {
		t.Errorf("endings %v, want 4 for elapsed", r.summary.Endings)
	}
	if r.code != 1 || !strings.Contains(r.stderr, "crashed worker") {
		t.Errorf("exit %d, stderr %s", r.code, r.stderr)
	}
}

// findSupervisor returns the pid of the test's running `devicejs fleet --workers` process.
func findSupervisor(t *testing.T) int {
	t.Helper()
	for _, kid := range childPIDs(os.Getpid()) {
		if cmdline(kid) != "" && strings.Contains(cmdline(kid), "--workers") {
			return kid
		}
	}
	t.Fatal("no devicejs fleet --workers child of the test")
	return 0
}

// childPIDs returns the pids whose parent is pid, in increasing order.
func childPIDs(pid int) []int {
	var kids []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(b)
		fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(fields) > 1 && fields[1] == strconv.Itoa(pid) {
			kids = append(kids, p)
		}
	}
	return kids
}

func cmdline(pid int) string {
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	return strings.ReplaceAll(string(b), "\x00", " ")
}

// TestFleetWorkersFlags: --workers and --max-memory are checked before anything runs.
func TestFleetWorkersFlags(t *testing.T) {
	t.Parallel()
	p := script(t, "d.js", "print(1)")
	for _, tc := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"more workers than instances", []string{"-n", "2", "--workers", "3"}, 2, "more than the 2 instances"},
		{"negative workers", []string{"-n", "2", "--workers", "-1"}, 2, "must not be negative"},
		{"workers and shard", []string{"-n", "4", "--workers", "2", "--shard", "0/2"}, 2, "cannot be combined"},
		{"too small a share", []string{"-n", "4", "--workers", "4", "--max-memory", "64MiB"}, 2, "per worker"},
		{"bad size", []string{"-n", "1", "--max-memory", "lots"}, 2, "want auto or a size"},
		{"workers run the script", []string{"-n", "3", "--workers", "3"}, 0, ""},
		{"auto budget in one process", []string{"-n", "2", "--max-memory", "auto"}, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runBinary(t, append(append([]string{"fleet"}, tc.args...), p)...)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.msg) {
				t.Errorf("exit %d, want %d with %q\nstderr: %s", r.code, tc.code, tc.msg, r.stderr)
			}
			if tc.code == 0 {
				want, _ := strconv.Atoi(tc.args[1])
				if got := len(triggered(r.stdout, "1")); got != want {
					t.Errorf("%d instances printed, want %d\nstdout: %s", got, want, r.stdout)
				}
			}
		})
	}
}
