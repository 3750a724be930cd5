package devtest

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/devicejs/devicejs"
	"github.com/devicejs/devicejs/link"
	"github.com/devicejs/devicejs/mqttcore"
	"github.com/devicejs/devicejs/runtime"
)

// maxRecorded bounds the lines and trace entries kept per device (a chatty device must not
// exhaust memory); older entries are dropped first and counted.
const maxRecorded = 100000

// DeviceOptions are the options of device.start.
type DeviceOptions struct {
	ClientID string          // replaces the script's clientId ("" keeps the script's, or a generated one)
	TLS      devicejs.TLS    // overrides the script's ssl.* settings (PEM)
	Link     string          // sets the world's link conditions when the device starts (a link spec, docs/link.md)
	For      time.Duration   // stops the device after this much device time (0 = never)
	Limits   mqttcore.Limits // zero = the device's limits
	Globals  runtime.Globals // plain JSON values the script sees as globals before it runs
}

// Line is one line a device printed, with its device time.
type Line struct {
	AtMs int64
	Text string
}

// TraceEntry is one traced MQTT action of a device, with its device time since the test start.
type TraceEntry struct {
	AtMs  int64
	Event mqttcore.TraceEvent
}

// DeviceUnderTest is one device script started by a test. Its records are safe to read from
// any goroutine.
type DeviceUnderTest struct {
	w      *World
	Name   string
	cancel context.CancelFunc
	doneCh chan struct{}

	mu       sync.Mutex
	partial  bytes.Buffer
	lines    []Line
	trace    []TraceEntry
	dropped  int
	clientID string // last client id seen in the trace
	result   *devicejs.Result
	busy     *busyFlag
}

// startDevice runs script in process on the world's clock and link.
func (w *World) startDevice(script devicejs.Script, o DeviceOptions) (*DeviceUnderTest, error) {
	if o.Link != "" {
		c, err := link.Parse(o.Link)
		if err != nil {
			return nil, err
		}
		w.link.Set(c)
	}
	d := &DeviceUnderTest{w: w, Name: script.Name, doneCh: make(chan struct{}), busy: &busyFlag{inflight: &w.inflight, events: &w.events}}
	// The device's loop counts itself in w.loopsBusy (exactly: busy while it runs JS or has
	// work pending), from now until its run ends.
	ic := &runtime.IdleClock{Clock: deviceClock{w.clock, d.busy}, Busy: &w.loopsBusy, Wakes: &w.loopWakes}
	cfg := devicejs.Config{
		Stdout: deviceWriter{d},
		Dial:   w.link.Dialer(w.dial),
		Clock:  ic,
		For:    o.For,
		Limits: o.Limits,
		Trace:  d.observe,
		// The devices share the test file's process heap and budget (Options.MaxMemory): each
		// gets the guards and a watchdog, so a leaking device ends at once, not only the test
		// file's run, which waits in world.after while its devices allocate.
		MaxMemory: w.opts.MaxMemory,
		// Set after the bindings' setup, before the script runs (devicejs.Config.Globals).
		Globals: o.Globals,
	}
	if w.embedded != nil {
		cfg.TLS = devicejs.TLS{CA: w.route.TrustCA, Cert: w.route.ClientCert, Key: w.route.ClientKey}
	} else {
		cfg.TLS = w.opts.TLS
	}
	if o.TLS.CA != "" {
		cfg.TLS.CA = o.TLS.CA
	}
	if o.TLS.Cert != "" || o.TLS.Key != "" {
		cfg.TLS.Cert, cfg.TLS.Key = o.TLS.Cert, o.TLS.Key
	}
	if o.ClientID != "" {
		id := o.ClientID
		cfg.ClientID = func(string) string { return id }
	}
	dev, err := devicejs.New(cfg)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(w.ctx)
	d.cancel = cancel
	d.busy.set() // until the script shows it has run
	ic.Precount()
	w.activity.Add(1)
	// Run on a goroutine of its own (not Device.Start's parked loop): a test has few devices,
	// and a held goroutine keeps the device's wake-ups simple.
	go func() {
		r, err := dev.Run(ctx, script)
		ic.ReleasePrecount()
		if err != nil {
			r = devicejs.Result{Ending: devicejs.ScriptFailed, Err: err}
		}
		d.mu.Lock()
		d.result = &r
		d.flushLocked()
		d.mu.Unlock()
		d.busy.clear()
		d.busy.clearEvent()
		w.activity.Add(1)
		close(d.doneCh)
	}()
	w.mu.Lock()
	w.devices = append(w.devices, d)
	w.mu.Unlock()
	return d, nil
}

// stop ends the device (its sessions end with DISCONNECT) and waits for it, bounded.
func (d *DeviceUnderTest) stop() {
	d.cancel()
	select {
	case <-d.doneCh:
	case <-time.After(10 * time.Second):
	}
}

// Done reports whether the device's script has ended.
func (d *DeviceUnderTest) Done() bool {
	select {
	case <-d.doneCh:
		return true
	default:
		return false
	}
}

// Result returns how the run ended, or nil while it runs.
func (d *DeviceUnderTest) Result() *devicejs.Result {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.result
}

// observe is the device's trace hook: it records the action and tracks operations in flight.
func (d *DeviceUnderTest) observe(e mqttcore.TraceEvent) {
	w := d.w
	w.activity.Add(1)
	d.busy.clear()
	switch e.Kind {
	case mqttcore.TraceConnack, mqttcore.TraceClose, mqttcore.TraceMessage, mqttcore.TraceError, mqttcore.TraceEnd:
		d.busy.setEvent() // its handler runs on the script's loop, maybe after a busy loop yields
	default:
		d.busy.clearEvent()
	}
	switch e.Kind {
	case mqttcore.TraceConnectAttempt, mqttcore.TracePublish, mqttcore.TraceSubscribe, mqttcore.TraceUnsubscribe:
		w.inflight.Add(1)
	case mqttcore.TraceConnack, mqttcore.TraceConnectFailed, mqttcore.TracePublishDone, mqttcore.TraceSuback, mqttcore.TraceUnsuback:
		w.inflight.Add(-1)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if e.ClientID != "" {
		d.clientID = e.ClientID
	}
	if len(d.trace) >= maxRecorded {
		d.trace = d.trace[1:]
		d.dropped++
	}
	d.trace = append(d.trace, TraceEntry{AtMs: e.Time.Sub(epoch).Milliseconds(), Event: e})
}

// Lines returns the complete lines printed so far.
func (d *DeviceUnderTest) Lines() []Line {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]Line(nil), d.lines...)
}

// Trace returns the traced actions so far.
func (d *DeviceUnderTest) Trace() []TraceEntry {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]TraceEntry(nil), d.trace...)
}

// ClientID returns the client id of the device's last session ("" before its first connect).
func (d *DeviceUnderTest) ClientID() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.clientID
}

// Published returns what the broker received from this device (matched by client id).
//
// On an external broker the world cannot tell clients apart (it sees what a peer subscribed
// to '#' receives): every device's publishes are returned, with an empty ClientID.
func (d *DeviceUnderTest) Published() []Published {
	if d.w.embedded == nil {
		return d.w.publishedBy("")
	}
	id := d.ClientID()
	if id == "" {
		return nil
	}
	return d.w.publishedBy(id)
}

// flushLocked keeps an unterminated last line when the device ends.
func (d *DeviceUnderTest) flushLocked() {
	if d.partial.Len() > 0 {
		d.lines = append(d.lines, Line{AtMs: d.w.NowMs(), Text: d.partial.String()})
		d.partial.Reset()
	}
}

// deviceWriter splits print() output into lines.
type deviceWriter struct{ d *DeviceUnderTest }

func (w deviceWriter) Write(b []byte) (int, error) {
	d := w.d
	d.w.activity.Add(1)
	d.busy.clear()
	d.busy.clearEvent()
	at := d.w.NowMs()
	d.mu.Lock()
	defer d.mu.Unlock()
	d.partial.Write(b)
	for {
		s := d.partial.String()
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			break
		}
		if len(d.lines) >= maxRecorded {
			d.lines = d.lines[1:]
			d.dropped++
		}
		d.lines = append(d.lines, Line{AtMs: at, Text: s[:i]})
		d.partial.Next(i + 1)
	}
	return len(b), nil
}

// FormatTrace renders trace entries one per line, for failure messages and --trace-on-fail.
func FormatTrace(tr []TraceEntry) string {
	var out strings.Builder
	for _, t := range tr {
		e := t.Event
		var b strings.Builder
		fmt.Fprintf(&b, "%8dms %-16s", t.AtMs, e.Kind)
		if e.Kind == mqttcore.TracePacket || e.Kind == mqttcore.TraceProtocolError {
			fmt.Fprintf(&b, " %s %s", e.Dir, e.Packet)
			if e.HasID {
				fmt.Fprintf(&b, " id=%d", e.PacketID)
			}
		}
		if e.Topic != "" {
			fmt.Fprintf(&b, " topic=%s", e.Topic)
		}
		switch e.Kind {
		case mqttcore.TracePublish, mqttcore.TraceSubscribe:
			fmt.Fprintf(&b, " qos=%d", e.QoS)
		case mqttcore.TracePacket:
			if e.Packet == "PUBLISH" {
				fmt.Fprintf(&b, " qos=%d", e.QoS)
			}
		case mqttcore.TraceConnectFailed:
			fmt.Fprintf(&b, " rc=%d errno=%d", e.ReturnCode, e.Errno)
		case mqttcore.TraceReconnectWait:
			fmt.Fprintf(&b, " wait=%s", e.Wait)
		}
		if e.Code != 0 {
			fmt.Fprintf(&b, " code=%d", e.Code)
		}
		if e.Err != "" {
			fmt.Fprintf(&b, " err=%q", e.Err)
		}
		out.WriteString(strings.TrimRight(b.String(), " "))
		out.WriteByte('\n')
	}
	return out.String()
}
