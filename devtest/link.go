package devtest

import (
	"fmt"

	"github.com/dop251/goja"

	"github.com/devicejs/devicejs/link"
)

// conditions reads link conditions from JS: a spec string (a profile such as "3g", or
// "latency=200ms,loss=1%", see docs/link.md) or {latency, jitter (ms), loss (0..1),
// bandwidth (bytes per second)}.
func (f *fileRun) conditions(v goja.Value) link.Conditions {
	o, ok := v.(*goja.Object)
	if !ok || o.ClassName() == "String" {
		c, err := link.Parse(v.String())
		if err != nil {
			f.throw("TypeError", "link: "+err.Error())
		}
		return c
	}
	var c link.Conditions
	if x := o.Get("latency"); x != nil && !goja.IsUndefined(x) {
		c.Latency = f.ms(x, "link latency")
	}
	if x := o.Get("jitter"); x != nil && !goja.IsUndefined(x) {
		c.Jitter = f.ms(x, "link jitter")
	}
	if x := o.Get("loss"); x != nil && !goja.IsUndefined(x) {
		c.Loss = x.ToFloat()
	}
	if x := o.Get("bandwidth"); x != nil && !goja.IsUndefined(x) {
		c.Bandwidth = x.ToInteger()
	}
	if err := c.Validate(); err != nil {
		f.throw("TypeError", fmt.Sprintf("link: %v", err))
	}
	return c
}

func (f *fileRun) jsLinkSet(call goja.FunctionCall) goja.Value {
	f.w().link.Set(f.conditions(call.Argument(0)))
	return goja.Undefined()
}

// jsLinkOutage is link.outage(ms): nothing passes either way for ms of device time; bytes are
// held and delivered afterwards (connections survive, as TCP's do).
func (f *fileRun) jsLinkOutage(call goja.FunctionCall) goja.Value {
	w := f.w()
	d := f.ms(call.Argument(0), "link.outage(ms)")
	w.link.Outage(d)
	if until := w.clock.Now().Add(d).UnixNano(); until > w.downUntil.Load() {
		w.downUntil.Store(until)
	}
	w.activity.Add(1)
	return goja.Undefined()
}

// jsLinkBlackhole is link.blackhole(on): a half-open link, nothing passes and nothing closes.
func (f *fileRun) jsLinkBlackhole(call goja.FunctionCall) goja.Value {
	w := f.w()
	on := call.Argument(0).ToBoolean()
	w.link.Blackhole(on)
	w.blackholed.Store(on)
	w.activity.Add(1)
	return goja.Undefined()
}

// jsLinkCut is link.cut(): every live connection is reset at both ends.
func (f *fileRun) jsLinkCut(goja.FunctionCall) goja.Value {
	w := f.w()
	w.link.Cut()
	w.activity.Add(1)
	return goja.Undefined()
}

// jsLinkStats is link.stats(): what the link carried and the delays it applied, per direction.
func (f *fileRun) jsLinkStats(goja.FunctionCall) goja.Value {
	s := f.w().link.Stats()
	dir := func(d link.DirStats) map[string]any {
		return map[string]any{"bytes": d.Bytes, "segments": d.Segments, "lostSegments": d.LostSegments,
			"losses": d.Losses, "delayMs": d.Delay.Milliseconds(), "maxDelayMs": d.MaxDelay.Milliseconds()}
	}
	return f.loop.VM().ToValue(map[string]any{"conns": s.Conns, "up": dir(s.Up), "down": dir(s.Down)})
}
