package devicejs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/devicejs/devicejs/bindings"
	"github.com/devicejs/devicejs/broker"
	"github.com/devicejs/devicejs/internal/embedroute"
	"github.com/devicejs/devicejs/internal/srcfile"
	"github.com/devicejs/devicejs/link"
	"github.com/devicejs/devicejs/mqttcore"
	"github.com/devicejs/devicejs/runtime"
)

// Script is a device script: its source and the name used in error positions and stacks.
type Script struct {
	Name   string // e.g. "device.js"; "" means "script.js"
	Source string
}

// ScriptFile reads a script from a file; its Name is path. The file must be a regular file (or
// a symlink to one) of at most runtime.MaxSourceBytes (16 MiB): a FIFO, a device such as
// /dev/zero, a directory or a socket is refused with an error naming the path, without blocking
// and without reading it, and at most that many bytes are read whatever the file's size says.
func ScriptFile(path string) (Script, error) {
	b, err := srcfile.Read(path)
	if err != nil {
		return Script{}, err
	}
	return Script{Name: path, Source: string(b)}, nil
}

// TLS holds PEM strings that replace the script's mqtt.set('ssl.ca' / 'ssl.cert' / 'ssl.key')
// at every mqtt.connect(); an empty field keeps what the script set.
type TLS struct {
	CA, Cert, Key string
}

// Dialer opens the network connection of one connection attempt, in the shape of
// net.Dialer.DialContext. It must honour ctx (connectTimeout and the end of the run cancel it).
type Dialer func(ctx context.Context, network, addr string) (net.Conn, error)

// Config configures a Device. The zero value runs a script with the device's limits on wall
// time, connecting where the script says, with print() output and diagnostics discarded.
//
// Routing: at most one of Broker, Dial and Embedded may be set.
//
// Callbacks (Stdout, Logger's handler, Dial, Clock, ClientID, OnEvent, Trace): a panic in any
// of them is recovered, whatever goroutine it runs on, and ends the run as a *HookError (see
// there); the package never lets it kill the process.
type Config struct {
	// Stdout receives print() output; nil discards it.
	Stdout io.Writer
	// Logger receives diagnostics (refused calls at debug level, recovered panics at error
	// level); nil discards them.
	Logger *slog.Logger

	// Broker, "HOST:PORT", sends every connection there instead of to the script's URL (the
	// script's hostname is still used for TLS verification).
	Broker string
	// Dial replaces the network dial of every connection (e.g. broker.Broker.MemoryDialer()).
	Dial Dialer
	// Embedded routes every connection to this started in-process broker over in-memory
	// connections. A TLS connection (mqtts://) is terminated in process with a certificate for
	// the script's hostname, issued by a CA the device is told to trust (unless TLS.CA is set),
	// and a client certificate from that CA is offered (unless TLS.Cert or TLS.Key is set).
	// The broker is not closed by the run.
	Embedded *broker.Broker
	// TLS overrides the script's TLS settings.
	TLS TLS

	// TimeScale makes device time run this many times faster than wall time (timers, .wait(),
	// Date.now(), reconnectPeriod, connectTimeout); 0 means 1, otherwise it must be from
	// runtime.MinTimeScale to runtime.MaxTimeScale (0.001 to 1e6). Ignored when Clock is set.
	TimeScale float64
	// Clock is device time; nil means a clock built from TimeScale.
	Clock runtime.Clock
	// For stops the run cleanly after this much device time (Ending ForElapsed); 0 means no
	// bound.
	For time.Duration

	// ClientID, if non-nil, replaces the clientId of every mqtt.connect(): it receives the
	// script's clientId ("" when the script set none) and returns the one to use ("" means the
	// device's generated default). It runs on the device's loop. Fleets use it to give each
	// device its own id (see package fleet).
	ClientID func(scriptID string) string

	// MaxMemory is the heap budget in bytes (runtime.Options.MaxMemory): the run ends with a
	// script error (Ending ScriptFailed, runtime.ErrMemoryBudget) when the live heap exceeds
	// it; 0 means none. The heap measured is the process's, so it suits one device per process
	// (for many, see DeviceMemory).
	// New refuses a negative value or one above MaxBudget (*ConfigError).
	MaxMemory int64

	// MemoryGuards is a process-wide heap budget in bytes for the memory guards alone
	// (runtime.Options.MemoryGuardBudget): a call of an allocating built-in (fill, map,
	// Array.from, split, join, JSON.parse, apply, ...) that would take the process heap past it
	// ends this device with the budget error (Ending ScriptFailed, runtime.ErrMemoryBudget)
	// before it allocates. No watchdog is started: it suits many devices in one process that
	// share one heap watchdog (package fleet sets it to its MaxMemory). MaxMemory, when set,
	// takes precedence. It does not see growth made of small allocations (a push loop, string
	// doubling): DeviceMemory does. 0 means none; New refuses a negative value or one above
	// MaxBudget.
	MemoryGuards int64

	// DeviceMemory is this device's own heap budget in bytes, for many devices in one process:
	// when the estimate of the heap its script can reach (its variables, arrays, strings,
	// objects, maps, closures, typed arrays, timers' functions) exceeds it, this device alone
	// ends with the budget error (Ending ScriptFailed, runtime.ErrMemoryBudget) and the
	// others run on. The estimate is measured only after the process heap has grown, and only
	// for devices that ran since; an idle device costs nothing. When MemoryGuards and MaxMemory
	// are 0, the calls MemoryGuards checks are weighed against this budget and the device's own
	// estimate before they allocate. How it is counted and
	// where it is an estimate: docs/embedding.md, "Hostile scripts". 0 means none; New refuses
	// a negative value or one above MaxBudget (*ConfigError).
	DeviceMemory int64

	// Link emulates the device's network link between it and its broker, on device time:
	// the grammar of `--link` ("3g", "latency=200ms,jitter=50ms,loss=1%,bandwidth=256kbit",
	// "lte,loss=5%"; docs/link.md). Every connection of the run goes through it, over whichever
	// route (Broker, Dial, Embedded, the script's own address). "" means none. New refuses a
	// malformed one (*ConfigError for Link).
	Link string
	// LinkSeed seeds the link's jitter and loss: the same seed gives the same delays on every
	// run (`devicejs run --link` uses 1).
	LinkSeed int64

	// Globals are per-device values the script sees as plain global variables before it runs
	// (credentials, topics, periods: what varies from one device to the next), the same
	// mechanism as `--define KEY=VALUE` on run and fleet and device.start(file, {globals}) in
	// tests. Each value must be plain JSON (a json.RawMessage keeps its key order); New refuses
	// a function, channel, cycle, NaN or ±Inf, a name that is not an identifier or is a
	// device or ECMAScript global (mqtt, print, JSON, ...), with a *ConfigError whose Err is a
	// *runtime.GlobalsError naming the key. A real device has no such mechanism: see
	// docs/api.md, "Per-device values", for one script that serves both.
	Globals runtime.Globals

	// Limits are the device's resource bounds; the zero value means mqttcore.DeviceLimits()
	// (1 session, 5 subscriptions, 65536-byte buffers). mqttcore.HostLimits() lifts them.
	Limits mqttcore.Limits

	// OnEvent, if non-nil, is called for each MQTT event (see EventKind), one call at a time
	// and in order, synchronously from the session's goroutine: it must not block and must not
	// wait for the run.
	OnEvent func(Event)
	// EventPayloads makes OnEvent's message and publish_done events carry a copy of the payload
	// (Event.Payload, at most MaxEventPayload bytes, Truncated when cut). Off by default: it is
	// one allocation per message, which a fleet of thousands of devices does not want.
	EventPayloads bool
	// Trace, if non-nil, is called for each session action (mqttcore.TraceKind) and each MQTT
	// control packet sent or received (mqttcore.TracePacket; docs/trace.md) under the same
	// rules as OnEvent. Trace events never carry passwords or keys.
	Trace func(mqttcore.TraceEvent)
}

// Device is one device runtime. Create it with New and call Run once; Stats may be read from
// any goroutine at any time.
type Device struct {
	cfg   Config
	clock runtime.Clock
	dial  Dialer
	link  *link.Conditions // Config.Link parsed; nil = none
	tls   mqttcore.TLSSettings
	obs   *observer
	ran   atomic.Bool
}

// errForElapsed is the cancel cause of Config.For.
var errForElapsed = errors.New("devicejs: --for elapsed")

// New validates cfg and returns a Device ready to Run. It starts nothing. A Config it refuses
// gives a *ConfigError naming the field (errors.Is(err, ErrInvalidConfig) holds).
func New(cfg Config) (*Device, error) {
	set := 0
	for _, b := range []bool{cfg.Broker != "", cfg.Dial != nil, cfg.Embedded != nil} {
		if b {
			set++
		}
	}
	if set > 1 {
		field := "Embedded"
		if cfg.Embedded == nil {
			field = "Dial"
		}
		return nil, configErrorf(field, nil, "set at most one of Config.Broker, Config.Dial and Config.Embedded")
	}
	if cfg.For < 0 {
		return nil, configErrorf("For", nil, "must not be negative, got %v", cfg.For)
	}
	if err := checkBudget("MaxMemory", cfg.MaxMemory); err != nil {
		return nil, err
	}
	if err := checkBudget("MemoryGuards", cfg.MemoryGuards); err != nil {
		return nil, err
	}
	if err := checkBudget("DeviceMemory", cfg.DeviceMemory); err != nil {
		return nil, err
	}
	if err := cfg.Globals.Validate(); err != nil {
		return nil, configErrorf("Globals", err, "%v", err)
	}
	var lc *link.Conditions
	if cfg.Link != "" {
		c, err := link.Parse(cfg.Link)
		if err != nil {
			return nil, configErrorf("Link", err, "%v", err)
		}
		lc = &c
	}
	d := &Device{cfg: cfg, dial: cfg.Dial, link: lc, obs: &observer{onEvent: cfg.OnEvent, trace: cfg.Trace, payloads: cfg.EventPayloads}}
	d.tls = mqttcore.TLSSettings{CA: cfg.TLS.CA, Cert: cfg.TLS.Cert, Key: cfg.TLS.Key}
	switch {
	case cfg.Clock != nil:
		d.clock = cfg.Clock
	case cfg.TimeScale == 0 || cfg.TimeScale == 1:
		d.clock = runtime.NewWallClock()
	case runtime.CheckTimeScale(cfg.TimeScale) != nil:
		err := runtime.CheckTimeScale(cfg.TimeScale)
		return nil, configErrorf("TimeScale", err, "%v", err)
	default:
		d.clock = runtime.NewScaledClock(cfg.TimeScale)
	}
	if cfg.Broker != "" {
		dial, err := AddressDialer(cfg.Broker)
		if err != nil {
			return nil, configErrorf("Broker", nil, "want HOST:PORT with a host and a port from 1 to 65535, got %q", cfg.Broker)
		}
		d.dial = dial
	}
	return d, nil
}

// AddressDialer returns a Dialer that connects every connection to hostport ("HOST:PORT")
// over TCP, whatever address the script gave.
func AddressDialer(hostport string) (Dialer, error) {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return nil, fmt.Errorf("devicejs: broker address: want HOST:PORT, got %q", hostport)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 || host == "" {
		return nil, fmt.Errorf("devicejs: bad broker address %q", hostport)
	}
	target := net.JoinHostPort(host, port)
	var d net.Dialer
	return func(ctx context.Context, network, _ string) (net.Conn, error) {
		return d.DialContext(ctx, network, target)
	}, nil
}

// Stats returns the counters so far. Safe from any goroutine.
func (d *Device) Stats() Stats { return d.obs.stats() }

// Run runs script until it finishes, Config.For elapses, ctx ends or the script fails, and
// says which in the Result. The error is non-nil only when the run could not start (Run or
// Start was already called, or the embedded route could not be set up). Run blocks; the
// script's sessions are ended (DISCONNECT) before it returns.
func (d *Device) Run(ctx context.Context, script Script) (Result, error) {
	r, err := d.prepare(ctx, script)
	if err != nil {
		return Result{}, err
	}
	return r.end(r.loop.Run(r.ctx, r.name, script.Source, r.setup)), nil
}

// Start is Run without blocking: it starts the run and returns at once; done receives the
// Result Run would have returned, once the run has ended (sessions ended, like Run). The
// error is non-nil, and done is never called, when the run could not start (as for Run).
//
// While the device is idle (nothing due: waiting for a timer or a message) the run holds no
// goroutine of its own (runtime.Loop.Start): a process running thousands of mostly idle
// devices (package fleet) saves a goroutine stack per device. done runs on the device's
// goroutine of the moment; it must not block for long. A nil done is allowed.
func (d *Device) Start(ctx context.Context, script Script, done func(Result)) error {
	if done == nil {
		done = func(Result) {}
	}
	r, err := d.prepare(ctx, script)
	if err != nil {
		return err
	}
	done = safeDone(done, r.hooks.log)
	err = r.loop.Start(r.ctx, r.name, script.Source, func(err error) { done(r.end(err)) }, r.setup)
	if err != nil { // cannot happen: the loop is new
		r.end(err)
		return err
	}
	return nil
}

// runState is one run of a Device being prepared or under way: its loop and what Run does when
// the loop returns.
type runState struct {
	d       *Device
	ctx     context.Context // the run's context: ctx given to Run, and Config.For
	parent  context.Context
	name    string
	loop    *runtime.Loop
	setup   func(*runtime.Loop) error
	cleanup []func()
	hooks   hooks // the recovery of the host's callbacks
}

// prepare builds the loop and the bindings of a run.
func (d *Device) prepare(ctx context.Context, script Script) (*runState, error) {
	if !d.ran.CompareAndSwap(false, true) {
		return nil, errors.New("devicejs: Device.Run or Device.Start called twice")
	}
	r := &runState{d: d, parent: ctx, name: script.Name}
	tls := d.tls
	dial := d.dial
	if d.cfg.Embedded != nil {
		route, err := embedroute.New(d.cfg.Embedded.DialMemory)
		if err != nil {
			return nil, fmt.Errorf("devicejs: embedded route: %w", err)
		}
		r.cleanup = append(r.cleanup, func() { route.Close() })
		dial = route.Dial
		tls.CA, tls.Cert, tls.Key = route.TLSDefaults(tls.CA, tls.Cert, tls.Key)
	}
	if r.name == "" {
		r.name = "script.js"
	}
	// Every host callback goes through r.hooks, which recovers its panics (HookError).
	h := &r.hooks
	h.name = r.name
	h.log = slog.New(slog.DiscardHandler)
	if d.cfg.Logger != nil {
		h.log = slog.New(&handler{in: d.cfg.Logger.Handler(), h: h})
	}
	d.obs.hooks = h
	var stdout io.Writer = io.Discard
	if d.cfg.Stdout != nil {
		stdout = &writer{w: d.cfg.Stdout, h: h}
	}
	clk := d.clock
	if d.cfg.Clock != nil && !ownClock(d.cfg.Clock) {
		clk = &clock{c: d.cfg.Clock, h: h}
	}
	if d.cfg.Dial != nil { // the host's own (AddressDialer and the embedded route are ours)
		dial = h.dial(dial)
	}
	var clientID func(string) string
	if d.cfg.ClientID != nil {
		clientID = h.clientID(d.cfg.ClientID)
	}
	runCtx, cancel := context.WithCancelCause(ctx)
	r.ctx = runCtx
	r.cleanup = append(r.cleanup, func() { cancel(nil) })
	r.loop = runtime.New(runtime.Options{Stdout: stdout, Clock: clk, MaxMemory: d.cfg.MaxMemory,
		MemoryGuardBudget: d.cfg.MemoryGuards, DeviceMemory: d.cfg.DeviceMemory})
	h.loop = r.loop
	if d.cfg.For > 0 {
		stop := clk.AfterFunc(d.cfg.For, func() { cancel(errForElapsed) })
		r.cleanup = append(r.cleanup, func() { stop() })
	}
	hc := mqttcore.HostConfig{Limits: d.cfg.Limits, Trace: d.obs.observe}
	if d.cfg.Trace != nil {
		hc.PacketTrace = d.obs.observe // packets are parsed only for a trace (docs/trace.md)
	}
	if d.link != nil { // every connection of the run through one emulated link on device time
		dial = Dialer(link.New(*d.link, clk, d.cfg.LinkSeed).Dialer(dial))
	}
	if dial != nil {
		hc.Dial = dial
	}
	bc := bindings.Config{SSL: tls, Logger: h.log, ClientID: clientID}
	r.setup = bindings.New(r.loop, hc, bc).Setup
	if len(d.cfg.Globals) > 0 {
		bind, globals := r.setup, d.cfg.Globals.Setup()
		r.setup = func(l *runtime.Loop) error {
			if err := bind(l); err != nil {
				return err
			}
			return globals(l)
		}
	}
	return r, nil
}

// end turns the loop's error into the Result and releases what prepare set up, last first.
func (r *runState) end(err error) Result {
	res := Result{Err: err, Stats: r.d.obs.stats()}
	defer func() {
		for i := len(r.cleanup) - 1; i >= 0; i-- {
			r.cleanup[i]()
		}
	}()
	var se *runtime.ScriptError
	switch {
	case err == nil:
		res.Ending = Finished
	case errors.Is(err, errForElapsed) && r.parent.Err() == nil:
		res.Ending, res.Err = ForElapsed, nil
	case errors.As(err, &se):
		res.Ending = ScriptFailed
	default:
		res.Ending = Canceled
	}
	// A host callback that panicked as the run was ending (too late to interrupt it) still
	// fails it, unless the script failed on its own.
	if hse := r.hooks.first.Load(); hse != nil && res.Ending != ScriptFailed {
		res.Ending, res.Err = ScriptFailed, hse
	}
	return res
}

// Run is New(cfg) followed by Device.Run(ctx, script).
func Run(ctx context.Context, script Script, cfg Config) (Result, error) {
	d, err := New(cfg)
	if err != nil {
		return Result{}, err
	}
	return d.Run(ctx, script)
}
