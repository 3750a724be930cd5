package fleet

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/devicejs/devicejs/internal/childproc"
)

// WorkerNoticeFD is the file descriptor on which a worker started by Supervise writes its
// Notice lines (the child side of the pipe Supervise opens).
const WorkerNoticeFD = childproc.FirstExtraFD

// stopSignal is the signal Supervise forwards by default when its context ends.
var stopSignal os.Signal = syscall.SIGTERM

// SuperviseConfig configures Supervise.
type SuperviseConfig struct {
	// N is the number of instances in the whole fleet.
	N int
	// Workers is the number of worker processes; worker w runs Shard{Index: w, Count: Workers}.
	Workers int
	// Command returns worker w's command, not started: a `devicejs fleet --shard w/Workers`
	// that writes its JSON summary to summaryPath and its Notice lines to file descriptor 3,
	// WorkerNoticeFD (Supervise sets ExtraFiles and the process group; leave them unset).
	Command func(w int, summaryPath string) *exec.Cmd
	// MaxRSS is the resident memory in bytes past which a worker is killed (SIGKILL) and its
	// instances not yet ended are listed with ReasonMemory; 0 means no bound.
	MaxRSS int64
	// Stop returns the signal sent to every worker when ctx ends (the cause is given), or nil
	// to send none (the workers stop by themselves, e.g. at their own --timeout); a nil Stop
	// sends SIGTERM. Workers still running Grace later are killed.
	Stop func(cause error) os.Signal
	// Grace is how long workers have to exit after Stop before they are killed; 0 means 3 s.
	Grace time.Duration
	// Kill, when closed, kills every worker still running at once (SIGKILL): the command got
	// a second signal. Supervise then returns as soon as they are gone, their instances not
	// reported ended listed with KillReason() (ReasonWorkerCrash when KillReason is nil).
	Kill       <-chan struct{}
	KillReason func() string
}

// rssPoll is how often Supervise reads its workers' resident memory.
const rssPoll = 20 * time.Millisecond

// worker is one worker process and what it reported.
type worker struct {
	index, lo, hi int
	shard         Shard
	cmd           *exec.Cmd
	summaryPath   string
	notices       *os.File // the read end of the worker's notice pipe

	mu           sync.Mutex
	ids          map[int]string
	ended        map[int]string // index -> reason reported
	killedForRSS uint64         // the RSS at which it was killed, 0 if not
	killedReason string         // the reason it was killed for by SuperviseConfig.Kill, "" if not
	waitErr      error
	exited       bool
}

// Supervise runs a fleet of cfg.N instances as cfg.Workers worker processes, each a shard of
// it: it starts them, kills a worker that outgrows MaxRSS, forwards the end of ctx (timeout,
// signal) as a signal, kills workers that have not exited Grace later, and merges their
// summaries. A worker that dies without a summary (crash, kill) has its instances listed in
// Ended as ReasonWorkerCrash, or ReasonMemory when Supervise killed it for its RSS, with the
// clientIds it reported. PeakRSSBytes is the largest sum of the workers' resident memory seen
// plus this process's own peak. Run blocks; the error is non-nil only when no worker could
// start.
func Supervise(ctx context.Context, cfg SuperviseConfig) (Summary, error) {
	if cfg.N < 1 || cfg.Workers < 1 || cfg.Command == nil {
		return Summary{}, errors.New("fleet: Supervise needs N >= 1, Workers >= 1 and a Command")
	}
	dir, err := os.MkdirTemp("", "devicejs-fleet-")
	if err != nil {
		return Summary{}, fmt.Errorf("fleet: %w", err)
	}
	defer os.RemoveAll(dir)
	start := time.Now()
	var workers []*worker
	var readers sync.WaitGroup
	for w := range cfg.Workers {
		sh := Shard{Index: w, Count: cfg.Workers}
		lo, hi := sh.Range(cfg.N)
		wk := &worker{index: w, lo: lo, hi: hi, shard: sh, ids: map[int]string{}, ended: map[int]string{},
			summaryPath: filepath.Join(dir, "worker-"+strconv.Itoa(w)+".json")}
		if err := wk.start(cfg.Command(w, wk.summaryPath), &readers); err != nil {
			for _, o := range workers {
				_ = o.cmd.Process.Kill()
			}
			for _, o := range workers {
				_ = o.cmd.Wait()
			}
			return Summary{}, fmt.Errorf("fleet: worker %d: %w", w, err)
		}
		workers = append(workers, wk)
	}

	var waits sync.WaitGroup
	allDone := make(chan struct{})
	for _, wk := range workers {
		waits.Add(1)
		go func() {
			defer waits.Done()
			err := wk.cmd.Wait()
			wk.mu.Lock()
			wk.waitErr, wk.exited = err, true
			wk.mu.Unlock()
		}()
	}
	go func() { waits.Wait(); close(allDone) }()

	peak := superviseLoop(ctx, cfg, workers, allDone)
	// A worker's own child may still hold the notice pipe open: stop reading a second after
	// the last worker exited.
	readersDone := make(chan struct{})
	go func() { readers.Wait(); close(readersDone) }()
	select {
	case <-readersDone:
	case <-time.After(time.Second):
		for _, wk := range workers {
			wk.notices.Close()
		}
		<-readersDone
	}

	parts := make([]Summary, 0, len(workers))
	for _, wk := range workers {
		wk.notices.Close()
		parts = append(parts, wk.summary(cfg.N, time.Since(start)))
	}
	m, err := Merge(parts...)
	if err != nil {
		return Summary{}, err
	}
	m.PeakRSSBytes = peak + readPeakRSS()
	return m, nil
}

// superviseLoop polls the workers' RSS, kills one over cfg.MaxRSS, forwards the end of ctx and
// kills workers still running cfg.Grace later, until every worker has exited. It returns the
// largest sum of the workers' RSS seen.
func superviseLoop(ctx context.Context, cfg SuperviseConfig, workers []*worker, allDone <-chan struct{}) (peak uint64) {
	grace := cfg.Grace
	if grace <= 0 {
		grace = 3 * time.Second
	}
	tick := time.NewTicker(rssPoll)
	defer tick.Stop()
	stopCtx := ctx.Done()
	var killAll <-chan time.Time
	kill := cfg.Kill
	for {
		select {
		case <-allDone:
			return peak
		case <-kill:
			kill = nil
			reason := ReasonWorkerCrash
			if cfg.KillReason != nil {
				reason = cfg.KillReason()
			}
			for _, wk := range workers {
				wk.killNow(reason)
			}
		case <-stopCtx:
			stopCtx = nil
			sig := stopSignal
			if cfg.Stop != nil {
				sig = cfg.Stop(context.Cause(ctx))
			}
			if sig != nil {
				for _, wk := range workers {
					wk.signal(sig)
				}
			}
			killAll = time.After(grace)
		case <-killAll:
			killAll = nil
			for _, wk := range workers {
				wk.signal(os.Kill)
			}
		case <-tick.C:
			var sum uint64
			for _, wk := range workers {
				rss := wk.rss()
				sum += rss
				if cfg.MaxRSS > 0 && rss > uint64(cfg.MaxRSS) {
					wk.killForRSS(rss)
				}
			}
			peak = max(peak, sum)
		}
	}
}

// start starts the worker (childproc.Start: its own process group, Pdeathsig) with a pipe on
// fd 3 (WorkerNoticeFD) for its notices, read by a goroutine counted in readers.
func (wk *worker) start(cmd *exec.Cmd, readers *sync.WaitGroup) error {
	wk.cmd = cmd
	pipes, err := childproc.Start(cmd, 1)
	if err != nil {
		return err
	}
	pr := pipes[0]
	wk.notices = pr
	readers.Add(1)
	go func() {
		defer readers.Done()
		ReadNotices(pr, func(r Notice) {
			if r.Index < wk.lo || r.Index >= wk.hi {
				return
			}
			wk.mu.Lock()
			defer wk.mu.Unlock()
			if r.ClientID != "" {
				wk.ids[r.Index] = r.ClientID
			}
			if r.Reason != "" {
				wk.ended[r.Index] = r.Reason
			}
		})
	}()
	return nil
}

// signal sends sig to a worker that has not exited.
func (wk *worker) signal(sig os.Signal) {
	wk.mu.Lock()
	defer wk.mu.Unlock()
	if !wk.exited {
		_ = wk.cmd.Process.Signal(sig)
	}
}

// rss returns the worker's resident memory, 0 once it has exited.
func (wk *worker) rss() uint64 {
	wk.mu.Lock()
	exited := wk.exited
	wk.mu.Unlock()
	if exited {
		return 0
	}
	return readRSSOf(strconv.Itoa(wk.cmd.Process.Pid), "VmRSS:")
}

// killNow kills a worker that has not exited; its instances are listed with reason.
func (wk *worker) killNow(reason string) {
	wk.mu.Lock()
	defer wk.mu.Unlock()
	if !wk.exited {
		wk.killedReason = reason
		_ = wk.cmd.Process.Kill()
	}
}

func (wk *worker) killForRSS(rss uint64) {
	wk.mu.Lock()
	defer wk.mu.Unlock()
	if wk.exited || wk.killedForRSS != 0 {
		return
	}
	wk.killedForRSS = rss
	_ = wk.cmd.Process.Kill()
}

// summary returns the worker's own summary or, when it left none, one that lists its
// instances as ended (crash or memory kill), with the clientIds and reasons it reported.
func (wk *worker) summary(n int, elapsed time.Duration) Summary {
	wk.mu.Lock()
	defer wk.mu.Unlock()
	if f, err := os.Open(wk.summaryPath); err == nil && wk.killedForRSS == 0 {
		s, err := ReadSummary(f)
		f.Close()
		if err == nil {
			return s
		}
	}
	s := Summary{Version: SummaryVersion, FleetSize: n, Instances: wk.hi - wk.lo,
		Shards: []string{wk.shard.String()}, ElapsedSeconds: elapsed.Seconds(),
		Errors: map[string]uint64{}, Endings: map[string]int{}}
	reason, detail := ReasonWorkerCrash, fmt.Sprintf("worker %d (instances %d-%d) exited without a summary: %v", wk.index, wk.lo, wk.hi-1, wk.waitErr)
	switch {
	case wk.killedForRSS != 0:
		reason = ReasonMemory
		detail = fmt.Sprintf("worker %d (instances %d-%d) killed at %.0f MiB resident", wk.index, wk.lo, wk.hi-1, float64(wk.killedForRSS)/(1<<20))
	case wk.killedReason != "":
		reason = wk.killedReason
		detail = fmt.Sprintf("worker %d (instances %d-%d) killed on a second signal", wk.index, wk.lo, wk.hi-1)
	}
	for i := wk.lo; i < wk.hi; i++ {
		e := Ended{Index: i, ClientID: wk.ids[i], Reason: reason, Detail: detail}
		if r, ok := wk.ended[i]; ok {
			e.Reason, e.Detail = r, "reported by the worker before it died"
		}
		s.Ended = append(s.Ended, e)
		s.Endings[e.Reason]++
	}
	s.finish()
	return s
}
