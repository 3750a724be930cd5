// Package fleet runs N copies of one device script in one process: N independent
// devicejs.Devices (each its own VM, event loop and MQTT session) sharing nothing but the Go
// scheduler, the output and, optionally, an in-process broker. It backs `devicejs fleet`; see
// docs/fleet.md.
//
// Why one package of about 3k lines (over the 2.5k the codebase aims for): a fleet run, its
// summary (summary.go, the merge of shards), its thresholds (threshold.go), its end-to-end probe
// (e2e.go) and its worker processes (supervise.go) share the Summary and Ended types and the
// per-instance bookkeeping; each file has one of those jobs.
package fleet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	goruntime "runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/devicejs/devicejs"
	"github.com/devicejs/devicejs/mqttcore"
)

// Config configures a Fleet.
type Config struct {
	// N is the number of instances in the whole fleet (indices 0 .. N-1).
	N int
	// Shard selects the slice of the N instances this process runs; indices stay global.
	Shard Shard
	// Script is run by every instance.
	Script devicejs.Script
	// Device is each instance's configuration; leave its Stdout and ClientID unset (Config.Stdout
	// and Config.ClientID replace them). OnEvent and Trace, when set, are called for every
	// instance, concurrently across instances. An Embedded broker is reached through one
	// in-memory route shared by all instances (one CA, no socket per instance), and a Link is
	// one emulated link shared by all instances' connections (route.go).
	Device devicejs.Config
	// ClientID is the per-instance clientId template: "{i}" is replaced by the instance index
	// and "{n}" by N (any other "{...}" is refused by New).
	// "" keeps the script's clientId with the index appended when the script sets one, and
	// gives a device default ("mqttjs_" and 8 random digits) when it does not, distinct among
	// the fleet's instances (not across shards).
	ClientID string
	// Defines are per-instance globals, "KEY=VALUE" as given to `--define`: in each VALUE,
	// "{i}" is replaced by the instance index, "{n}" by N and "{id}" by the instance's ClientID
	// template (which must then be set); the result is read as by runtime.ParseGlobal (JSON
	// when it is a JSON text, else a string) and added to Device.Globals. New refuses a
	// malformed definition, a name given twice and a field that refers to nothing.
	Defines []string
	// Ramp spreads the starts evenly over this wall time (instance k of the shard starts at
	// k·Ramp/count); 0 starts them all at once.
	Ramp time.Duration
	// Stdout receives every instance's print() lines, each prefixed "[i] "; nil discards them.
	Stdout io.Writer
	// MaxMemory is the heap budget of the whole process in bytes; 0 means none. One watchdog
	// reads the process heap (the heap cannot be attributed to instances); when the live heap
	// outgrows the budget every instance still running ends with ErrMemoryBudget (reason
	// ReasonMemory). Leave Device.MaxMemory 0: it would start a watchdog per instance, each
	// reading the same process heap. Worker processes (Supervise) narrow the instances ended
	// to the worker's. Each instance also gets the memory guards against this budget
	// (Device.MemoryGuards, unless set): an instance whose one built-in call (new
	// Array(1.5e8).fill(1)) would take the heap past it ends alone, with ReasonMemory, before
	// allocating, and the others run on.
	MaxMemory int64
	// EndReason maps the cause of the context given to Run to an Ended reason (ReasonTimeout,
	// ReasonTerminated, ...); nil or "" gives ReasonCanceled.
	EndReason func(cause error) string
	// E2EFilter, an MQTT topic filter, turns on the end-to-end latency probe (e2e.go): the
	// publishes of the instances on matching topics are remembered and their delivery to any
	// instance of this process is timed (Summary.E2E). It sets Device.EventPayloads (one copy
	// of each payload per event). "" (the default) costs nothing.
	E2EFilter string
	// E2ESubscriberURL, with E2EFilter, adds the fleet's own probe subscriber: one more device
	// (not an instance: in no count but the end-to-end figures) that connects to this broker
	// URL through the fleet's route (Device's Broker, Dial or Embedded, TLS settings and link)
	// with clientId "devicejs-e2e-probe-<shard index>", subscribes to E2EFilter at QoS 1 and
	// times every matching message. It runs from before the first instance starts until the
	// last has ended. "" = none (the receivers are the instances).
	E2ESubscriberURL string
	// Notices, if non-nil, receives a Notice line (JSON) when an instance is given its clientId
	// and when it ends: a supervisor reads them to name the instances of a worker that dies.
	Notices io.Writer
}

// Progress is a live snapshot of a running fleet. All counts are of this process's instances.
type Progress struct {
	Started   int // instances started
	Connected int // instances with an open connection now
	// Reconnecting counts instances between a lost connection and the next CONNACK: waiting
	// out reconnectPeriod or attempting (a script that turned automatic reconnection off
	// counts from the loss until it reconnects or ends).
	Reconnecting int
	Errors       uint64 // failed publishes and connections given up
	Received     uint64 // messages delivered so far
	Published    uint64 // publishes completed with code 0 so far
	Done         int    // instances whose run has ended
}

// Fleet is a set of device instances run together. Create it with New and call Run once;
// Progress may be read from any goroutine.
type Fleet struct {
	cfg    Config
	lo, hi int

	started, connected, reconnecting, done atomic.Int64
	errors, received, published            atomic.Uint64

	load loadState // publish latency and accounting, storms (load.go)
	e2e  *e2eState // end-to-end probe (e2e.go); nil without Config.E2EFilter

	measuring sync.WaitGroup // the memory reading started when all had connected
	ran       atomic.Bool

	mu           sync.Mutex // guards the fields below
	firstConnect int
	hist         Histogram
	errByCode    map[string]uint64
	allAt        time.Duration
	rss          uint64
	goroutines   int
	usedIDs      map[string]struct{} // default client ids given out (defaultID)
	results      []devicejs.Result   // by k = index - lo, valid where over[k]
	over         []bool              // instance k has ended
	ids          []string            // clientId of instance k, "" before its mqtt.connect
	notices      *noticer

	stopped   chan struct{} // closed when the run is stopped before its instances ended
	stopOnce  sync.Once
	stopCause error // the cause, set before stopped is closed
}

// New validates cfg. It starts nothing.
func New(cfg Config) (*Fleet, error) {
	if cfg.N < 1 {
		return nil, fmt.Errorf("fleet: N must be at least 1, got %d", cfg.N)
	}
	if err := cfg.Shard.Validate(); err != nil {
		return nil, fmt.Errorf("fleet: %w", err)
	}
	if cfg.Ramp < 0 {
		return nil, errors.New("fleet: Ramp must not be negative")
	}
	if cfg.Device.Stdout != nil || cfg.Device.ClientID != nil {
		return nil, errors.New("fleet: set Config.Stdout and Config.ClientID, not Device.Stdout or Device.ClientID")
	}
	if _, err := devicejs.New(cfg.Device); err != nil { // validate once, not per instance
		return nil, err
	}
	if cfg.MaxMemory < 0 {
		return nil, errors.New("fleet: MaxMemory must not be negative")
	}
	if _, err := expandTemplate(cfg.ClientID, 0, cfg.N, ""); err != nil {
		return nil, fmt.Errorf("fleet: ClientID: %w", err)
	}
	if _, err := GlobalsFor(cfg.Defines, cfg.ClientID, cfg.Device.Globals, 0, cfg.N); err != nil {
		return nil, fmt.Errorf("fleet: %w", err)
	}
	var e2e *e2eState
	if cfg.E2EFilter != "" {
		if err := ValidateE2EFilter(cfg.E2EFilter); err != nil {
			return nil, fmt.Errorf("fleet: E2EFilter: %w", err)
		}
		e2e = newE2E(cfg.E2EFilter)
	}
	if cfg.E2ESubscriberURL != "" {
		if cfg.E2EFilter == "" {
			return nil, errors.New("fleet: E2ESubscriberURL needs E2EFilter")
		}
		if err := ValidateProbeURL(cfg.E2ESubscriberURL); err != nil {
			return nil, fmt.Errorf("fleet: E2ESubscriberURL: %w", err)
		}
	}
	lo, hi := cfg.Shard.Range(cfg.N)
	return &Fleet{cfg: cfg, lo: lo, hi: hi, errByCode: map[string]uint64{}, e2e: e2e,
		results: make([]devicejs.Result, hi-lo), over: make([]bool, hi-lo), ids: make([]string, hi-lo),
		notices: newNoticer(cfg.Notices), stopped: make(chan struct{})}, nil
}

// Stopped is closed when Run is stopped (its context ended, or MaxMemory was outgrown) before
// every instance had ended; Run returns once they have, which an instance stuck in a long
// built-in call can delay without bound. Safe from any goroutine.
func (f *Fleet) Stopped() <-chan struct{} { return f.stopped }

// StopCause returns why Run was stopped (an error wrapping ErrMemoryBudget, or the cause of
// Run's context); nil before Stopped is closed. Safe from any goroutine.
func (f *Fleet) StopCause() error {
	select {
	case <-f.stopped:
		return f.stopCause
	default:
		return nil
	}
}

// Indices returns the instance indices [lo, hi) this fleet runs.
func (f *Fleet) Indices() (lo, hi int) { return f.lo, f.hi }

// Progress returns a snapshot. Safe from any goroutine.
func (f *Fleet) Progress() Progress {
	return Progress{
		Started: int(f.started.Load()), Connected: int(f.connected.Load()), Reconnecting: int(f.reconnecting.Load()),
		Errors: f.errors.Load(), Received: f.received.Load(), Published: f.published.Load(), Done: int(f.done.Load()),
	}
}

// LoadSnapshot returns the load figures so far (publish latency and accounting, storms,
// end-to-end figures), with their percentiles: for a live view and the series' per-interval
// latency (Histogram.Since). Safe from any goroutine; it allocates the histograms' maps.
func (f *Fleet) LoadSnapshot() Load {
	f.mu.Lock()
	s := Summary{Load: f.load.figuresLocked()}
	f.mu.Unlock()
	if f.e2e != nil {
		f.e2e.figures(&s.Load)
	}
	s.finishLoad()
	return s.Load
}

// ClientIDFor returns the clientId hook of instance i for a template (see Config.ClientID;
// "{n}" is left as it is, and so is a template New would refuse).
func ClientIDFor(template string, i int) func(scriptID string) string {
	idx := strconv.Itoa(i)
	if template != "" {
		id := strings.ReplaceAll(template, "{i}", idx)
		return func(string) string { return id }
	}
	return func(scriptID string) string {
		if scriptID == "" {
			return ""
		}
		return scriptID + idx
	}
}

// Run starts the instances (spread over Ramp) and waits until every one has ended: finished,
// Config.Device.For elapsed (device time, counted from each instance's own start), ctx ended or
// script failed. It returns the summary; the error is non-nil only when the fleet could not
// start. Run blocks.
func (f *Fleet) Run(ctx context.Context) (Summary, error) {
	if !f.ran.CompareAndSwap(false, true) {
		return Summary{}, errors.New("fleet: Run called twice")
	}
	base := f.cfg.Device
	if f.e2e != nil {
		base.EventPayloads = true // matched by topic and payload
	}
	if f.cfg.MaxMemory > 0 && base.MemoryGuards == 0 {
		// The guards end only the instance whose one built-in call would pass the budget, before
		// it allocates: the watchdog below could see such a call only after it had allocated.
		base.MemoryGuards = f.cfg.MaxMemory
	}
	base, closeRoute, err := sharedRoute(base)
	if err != nil {
		return Summary{}, err
	}
	defer closeRoute()
	var stopProbe func()
	defer func() {
		if stopProbe != nil {
			stopProbe()
		}
	}()
	if f.e2e != nil && f.cfg.E2ESubscriberURL != "" {
		stopProbe = f.startProbe(ctx, base) // over the same route as the instances
	}
	var out *lockedWriter
	if f.cfg.Stdout != nil {
		out = &lockedWriter{w: f.cfg.Stdout}
	}
	count := f.hi - f.lo
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	if f.cfg.MaxMemory > 0 {
		watching := make(chan struct{})
		defer func() { <-watching }()
		defer cancel(nil) // first: ends the watchdog
		go func() {
			defer close(watching)
			watchHeap(ctx, f.cfg.MaxMemory, cancel)
		}()
	}
	notStopping := context.AfterFunc(ctx, func() {
		f.stopOnce.Do(func() {
			f.stopCause = context.Cause(ctx)
			close(f.stopped)
		})
	})
	start := time.Now()
	var wg sync.WaitGroup
	for k := range count {
		if f.cfg.Ramp > 0 && k > 0 {
			at := start.Add(time.Duration(int64(f.cfg.Ramp) * int64(k) / int64(count)))
			if !sleepUntil(ctx, at) {
				break
			}
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		f.started.Add(1)
		go f.startOne(ctx, base, out, k, start, func(res devicejs.Result) {
			f.mu.Lock()
			f.results[k], f.over[k] = res, true
			id := f.ids[k]
			f.mu.Unlock()
			if reason, _ := reasonOf(res, f.cfg.EndReason); reason != "" {
				f.notices.ended(f.lo+k, id, reason)
			}
			f.done.Add(1)
			wg.Done()
		})
	}
	wg.Wait()
	if stopProbe != nil {
		stopProbe() // its receipts are in the summary
		stopProbe = nil
	}
	notStopping()
	elapsed := time.Since(start)
	return f.summary(int(f.started.Load()), elapsed, ""), nil
}

// sleepUntil waits for t or ctx; false when ctx ended first.
func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return true
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// defaultID returns a device default clientId ("mqttjs_" and 8 random digits, as
// mqttcore.GenerateClientID) not yet given to another instance of this fleet: 10,000 random
// ids out of 10⁸ would collide with a probability of about 40 % (birthday bound), and two
// sessions with one id make the broker disconnect one for the other, over and over. Ids of
// other processes (shards) may still collide; --client-id avoids that.
func (f *Fleet) defaultID() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.usedIDs == nil {
		f.usedIDs = map[string]struct{}{}
	}
	for range 1000 {
		id := mqttcore.GenerateClientID()
		if _, dup := f.usedIDs[id]; !dup {
			f.usedIDs[id] = struct{}{}
			return id
		}
	}
	return "" // cannot happen below millions of instances: mqttcore generates one
}

// startOne starts instance f.lo+k with devicejs.Device.Start, so that an idle instance holds
// no goroutine, and calls done with its Result once it has ended.
func (f *Fleet) startOne(ctx context.Context, cfg devicejs.Config, out *lockedWriter, k int, fleetStart time.Time, done func(devicejs.Result)) {
	i := f.lo + k
	var pw *prefixWriter
	if out != nil {
		pw = newPrefixWriter(out, i)
		cfg.Stdout = pw
	}
	byTemplate := ClientIDFor("", i) // the script's id + index
	if f.cfg.ClientID != "" {
		id, _ := expandTemplate(f.cfg.ClientID, i, f.cfg.N, "") // checked by New; {n} too
		byTemplate = func(string) string { return id }
	}
	if len(f.cfg.Defines) > 0 {
		cfg.Globals, _ = GlobalsFor(f.cfg.Defines, f.cfg.ClientID, f.cfg.Device.Globals, i, f.cfg.N) // checked by New
	}
	cfg.ClientID = func(scriptID string) string {
		id := byTemplate(scriptID)
		if id == "" {
			id = f.defaultID()
		}
		f.mu.Lock()
		known := f.ids[k] == id
		f.ids[k] = id
		f.mu.Unlock()
		if !known {
			f.notices.clientID(i, id)
		}
		return id
	}
	in := &instance{f: f, start: time.Now(), fleetStart: fleetStart, user: cfg.OnEvent}
	cfg.OnEvent = in.event
	ended := func(res devicejs.Result) {
		in.ended()
		if pw != nil {
			pw.Flush()
		}
		done(res)
	}
	d, err := devicejs.New(cfg)
	if err == nil {
		err = d.Start(ctx, f.cfg.Script, ended)
	}
	if err != nil {
		ended(devicejs.Result{Ending: devicejs.Canceled, Err: err})
	}
}

// instance follows one instance's connection state from its events, which come one at a time.
type instance struct {
	f                 *Fleet
	start, fleetStart time.Time
	user              func(devicejs.Event)

	mu           sync.Mutex
	everUp       bool
	up           bool
	reconnecting bool

	// Load figures (load.go), guarded by mu.
	sessEnded  bool   // the session ended (EventEnd): completions now are in flight at the end
	lost       bool   // the connection was lost and has not come back
	failsUp    uint64 // publishes failed since the last connect, not yet given to a storm
	retryTopic string // topic of the last publish failed in a storm; "" if none
	retryStorm int    // that storm's index

	// The reconnect wait after a loss (awaitAttempt), guarded by mu.
	attempted bool        // a reconnection attempt started since the last loss
	stopWait  func() bool // stops the wait's bound (awaitAttempt); nil if none
}

// maxReconnectPeriod is the largest reconnectPeriod a script can set (the firmware's range is
// 0 to 10000 ms): an instance that lost its connection and made no attempt within it, in
// device time, is not reconnecting.
const maxReconnectPeriod = 10 * time.Second

// afterWaitBound calls fn once maxReconnectPeriod of device time and a margin have passed: on
// the devices' clock when the fleet was given one (the CLI's --time-scale), else on wall time
// scaled by Device.TimeScale, with 1 s of wall time for a loaded machine.
func (f *Fleet) afterWaitBound(fn func()) (stop func() bool) {
	if clk := f.cfg.Device.Clock; clk != nil {
		return clk.AfterFunc(maxReconnectPeriod+maxReconnectPeriod/10, fn)
	}
	d := maxReconnectPeriod
	if ts := f.cfg.Device.TimeScale; ts > 0 {
		d = time.Duration(float64(d) / ts)
	}
	return time.AfterFunc(d+time.Second, fn).Stop
}

// awaitAttempt starts the bound of the reconnect wait that follows a loss: without an attempt
// (EventReconnect) or a connection by then, the instance no longer counts as reconnecting. One
// timer per lost connection, none while connected.
func (in *instance) awaitAttempt() {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.attempted = false
	if in.stopWait != nil {
		in.stopWait()
	}
	in.stopWait = in.f.afterWaitBound(func() {
		in.mu.Lock()
		defer in.mu.Unlock()
		if !in.attempted && !in.up && in.reconnecting {
			in.downLocked(false)
		}
	})
}

// stopWaitLocked stops the reconnect wait's bound; mu held.
func (in *instance) stopWaitLocked() {
	if in.stopWait != nil {
		in.stopWait()
		in.stopWait = nil
	}
}

func (in *instance) event(e devicejs.Event) {
	f := in.f
	switch e.Kind {
	case devicejs.EventConnect:
		now := time.Now()
		in.mu.Lock()
		first := !in.everUp
		in.everUp = true
		in.sessEnded, in.failsUp = false, 0
		if in.lost {
			in.lost = false
			f.mu.Lock()
			f.load.backLocked(now.Sub(in.fleetStart))
			f.mu.Unlock()
		}
		if !in.up {
			in.up = true
			f.connected.Add(1)
		}
		if in.reconnecting {
			in.reconnecting = false
			f.reconnecting.Add(-1)
		}
		in.stopWaitLocked()
		in.mu.Unlock()
		if first {
			f.connectedFirst(now.Sub(in.start), now.Sub(in.fleetStart))
		}
	case devicejs.EventClose:
		// A lost connection is followed by a reconnect wait (reconnectPeriod) and an attempt:
		// the instance counts as reconnecting from the loss, not only from the attempt.
		// A script that turned automatic reconnection off (reconnectCount 0, the firmware's
		// default) makes no attempt: afterWaitBound later the instance leaves the column.
		in.lostConn()
		in.mu.Lock()
		ended := in.sessEnded
		in.mu.Unlock()
		in.down(!ended)
		if !ended {
			in.awaitAttempt()
		}
	case devicejs.EventEnd:
		in.mu.Lock()
		in.sessEnded = true
		in.mu.Unlock()
		in.down(false)
	case devicejs.EventReconnect:
		in.mu.Lock()
		in.attempted = true
		in.mu.Unlock()
		in.down(true)
	case devicejs.EventError:
		in.down(false)
		f.countError("error:" + strconv.Itoa(int(e.Code)))
	case devicejs.EventMessage:
		f.received.Add(1)
		if f.e2e != nil {
			f.e2e.received(e.Topic, e.Payload, time.Now())
		}
	case devicejs.EventPublishDone:
		in.publishDone(e)
	}
	if in.user != nil {
		in.user(e)
	}
}

// publishDone puts a completed publish in exactly one of published, errors and in flight at
// the end, and records its latency or its part in a storm.
func (in *instance) publishDone(e devicejs.Event) {
	f := in.f
	f.load.attempts.Add(1)
	in.mu.Lock()
	ended := in.sessEnded
	retry, storm := in.retryTopic, in.retryStorm
	if retry != "" {
		in.retryTopic = ""
	}
	if e.Code != 0 && !ended {
		in.failsUp++
		in.retryTopic, in.retryStorm = e.Topic, -1 // a storm's index once the loss follows
	}
	in.mu.Unlock()
	if retry != "" && retry == e.Topic && storm >= 0 {
		f.mu.Lock()
		f.load.retriedLocked(storm)
		f.mu.Unlock()
	}
	switch {
	case e.Code == 0:
		f.published.Add(1)
		f.load.latency(e.QoS, e.Latency)
		if f.e2e != nil {
			f.e2e.published(e.Topic, e.Payload, time.Now(), e.Latency)
		}
	case ended:
		f.load.inFlightEnd.Add(1)
	default:
		f.load.pubErrors.Add(1)
		f.countError("publish:" + strconv.Itoa(int(e.Code)))
	}
}

// lostConn records the loss of the open connection (EventClose; a session's end is EventEnd):
// it joins the open storm or starts one, with the publishes the loss failed.
func (in *instance) lostConn() {
	in.mu.Lock()
	defer in.mu.Unlock()
	if !in.up || in.sessEnded || in.lost {
		return
	}
	in.lost = true
	f := in.f
	f.mu.Lock()
	i := f.load.lostLocked(time.Since(in.fleetStart), in.failsUp)
	f.mu.Unlock()
	if in.failsUp > 0 && in.retryTopic != "" {
		in.retryStorm = i
	}
	in.failsUp = 0
}

// down records a lost connection; reconnecting says whether a new attempt is starting.
func (in *instance) down(reconnecting bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.downLocked(reconnecting)
}

// downLocked is down with in.mu held.
func (in *instance) downLocked(reconnecting bool) {
	if in.up {
		in.up = false
		in.f.connected.Add(-1)
	}
	if reconnecting != in.reconnecting {
		in.reconnecting = reconnecting
		if reconnecting {
			in.f.reconnecting.Add(1)
		} else {
			in.f.reconnecting.Add(-1)
		}
	}
}

// ended clears the instance's live state when its run returns.
func (in *instance) ended() {
	in.mu.Lock()
	in.stopWaitLocked()
	in.mu.Unlock()
	in.down(false)
}

func (f *Fleet) countError(key string) {
	f.errors.Add(1)
	f.mu.Lock()
	f.errByCode[key]++
	f.mu.Unlock()
}

// connectedFirst records an instance's first CONNACK; the last one starts the memory reading.
func (f *Fleet) connectedFirst(latency, sinceStart time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hist.Add(latency)
	f.firstConnect++
	if f.firstConnect == f.hi-f.lo {
		f.allAt = sinceStart
		f.measuring.Add(1)
		go f.measure() // off the session's goroutine: OnEvent must not block
	}
}

// measure reads the memory figures once every instance has connected, after a garbage
// collection that returns the start-up garbage to the OS (debug.FreeOSMemory), so that
// rss_bytes is what the connected fleet holds rather than how much garbage the starts left.
func (f *Fleet) measure() {
	defer f.measuring.Done()
	debug.FreeOSMemory()
	rss, g := ReadRSS(), goruntime.NumGoroutine()
	f.mu.Lock()
	f.rss, f.goroutines = rss, g
	f.mu.Unlock()
}

// Partial returns the summary of a fleet whose Run has not returned (instances stuck in a long
// built-in call after a stop): the instances not ended yet are listed in Ended with reason.
// Safe from any goroutine; it does not wait for the memory reading.
func (f *Fleet) Partial(elapsed time.Duration, reason string) Summary {
	return f.summaryOf(int(f.started.Load()), elapsed, reason)
}

// summary builds the Summary once every instance has ended; stuck is the reason given to
// instances that have not (none, when "").
func (f *Fleet) summary(started int, elapsed time.Duration, stuck string) Summary {
	f.measuring.Wait()
	return f.summaryOf(started, elapsed, stuck)
}

func (f *Fleet) summaryOf(started int, elapsed time.Duration, stuck string) Summary {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := Summary{
		Version: SummaryVersion, FleetSize: f.cfg.N, Instances: f.hi - f.lo,
		Shards:              []string{f.cfg.Shard.String()},
		ElapsedSeconds:      elapsed.Seconds(),
		Connected:           f.firstConnect,
		AllConnectedSeconds: f.allAt.Seconds(),
		ConnectLatency:      f.hist,
		Errors:              f.errByCode,
		Endings:             map[string]int{},
		RSSBytes:            f.rss,
		Goroutines:          f.goroutines,
	}
	s.Load = f.load.figuresLocked()
	if f.e2e != nil {
		f.e2e.figures(&s.Load)
	}
	if s.RSSBytes == 0 {
		s.RSSBytes, s.Goroutines = ReadRSS(), goruntime.NumGoroutine()
	}
	s.PeakRSSBytes = readPeakRSS()
	for k, r := range f.results[:started] {
		if !f.over[k] {
			s.Endings["stuck"]++
			s.Ended = append(s.Ended, Ended{Index: f.lo + k, ClientID: f.ids[k], Reason: stuck,
				Detail: "still running (stuck in a long built-in call?) when the process exited"})
			continue
		}
		if reason, detail := reasonOf(r, f.cfg.EndReason); reason != "" {
			s.Ended = append(s.Ended, Ended{Index: f.lo + k, ClientID: f.ids[k], Reason: reason, Detail: detail})
		}
		s.Endings[r.Ending.String()]++
		s.Published += r.Stats.Published
		s.Received += r.Stats.Received
		s.Discarded += r.Stats.DiscardedForSize
		s.Reconnects += r.Stats.Reconnects
		s.Dropped += r.Stats.DroppedForQueue
		if r.Ending == devicejs.ScriptFailed {
			s.ScriptErrors++
			if s.FirstScriptError == "" {
				s.FirstScriptError = fmt.Sprintf("[%d] %v", f.lo+k, r.Err)
			}
		}
	}
	if n := (f.hi - f.lo) - started; n > 0 {
		s.Endings["not started"] += n
		for k := started; k < f.hi-f.lo; k++ {
			s.Ended = append(s.Ended, Ended{Index: f.lo + k, Reason: ReasonNotStarted})
		}
	}
	s.finish()
	return s
}

// probeScript is the built-in probe subscriber's script: connect, and (re)subscribe to the
// filter at QoS 1 on every connection. %s are the URL, clientId and filter as JSON strings.
const probeScript = `var c = mqtt.connect(%s, {clientId: %s, reconnectCount: 1855, reconnectPeriod: 1000});
c.on('connect', function () { c.subscribe(%s, {qos: 1}); });`

// startProbe starts the probe subscriber (Config.E2ESubscriberURL) with the instances' device
// configuration; stop ends it and waits until it has ended.
func (f *Fleet) startProbe(ctx context.Context, cfg devicejs.Config) (stop func()) {
	q := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	id := "devicejs-e2e-probe-" + strconv.Itoa(f.cfg.Shard.Index)
	src := fmt.Sprintf(probeScript, q(f.cfg.E2ESubscriberURL), q(id), q(f.e2e.filter))
	cfg.For, cfg.Stdout, cfg.ClientID, cfg.Globals = 0, nil, nil, nil
	cfg.EventPayloads = true
	cfg.OnEvent = func(e devicejs.Event) {
		if e.Kind == devicejs.EventMessage {
			f.e2e.received(e.Topic, e.Payload, time.Now())
		}
	}
	cfg.Trace = nil // not in the report's figures
	ctx, cancel := context.WithCancel(ctx)
	ended := make(chan struct{})
	d, err := devicejs.New(cfg)
	if err == nil {
		err = d.Start(ctx, devicejs.Script{Name: "e2e-probe.js", Source: src}, func(devicejs.Result) { close(ended) })
	}
	if err != nil {
		cancel()
		return func() {}
	}
	return func() {
		cancel()
		<-ended
	}
}
