package devtest

import (
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/dop251/goja"

	"github.com/devicejs/devicejs"
	"github.com/devicejs/devicejs/internal/pki"
	"github.com/devicejs/devicejs/internal/srcfile"
	"github.com/devicejs/devicejs/mqttcore"
	"github.com/devicejs/devicejs/runtime"
)

// deviceJS is a device handle given to a test: the JS object and the device.
type deviceJS struct {
	obj *goja.Object
	d   *DeviceUnderTest
}

// setup installs test, world, device, broker, link and expect on the test file's loop.
func (f *fileRun) setup(l *runtime.Loop) error {
	vm := l.VM()
	g := vm.GlobalObject()
	if j, ok := g.Get("JSON").(*goja.Object); ok {
		f.jsonParse, _ = goja.AssertFunction(j.Get("parse"))
	}
	if f.jsonParse == nil {
		return errors.New("devtest: no JSON.parse")
	}
	if err := f.setupRequire(vm); err != nil {
		return err
	}
	test := f.native(vm, "test", f.jsTest(""))
	if err := test.Set("skip", f.native(vm, "skip", f.jsTest("skipped"))); err != nil {
		return err
	}
	objects := map[string]map[string]func(goja.FunctionCall) goja.Value{
		"world": {
			"after": f.jsAfter, "until": f.jsUntil, "now": f.jsNow, "publish": f.jsPublish,
			"subscribe": f.jsSubscribe, "newCA": f.jsNewCA,
		},
		"device": {"start": f.jsStart},
		"broker": {
			"stop": f.jsBrokerStop, "restart": f.jsBrokerRestart, "start": f.jsBrokerStart,
			"refuse": f.jsBrokerRefuse, "users": f.jsBrokerUsers, "deny": f.jsBrokerDeny,
			"isEmbedded": func(goja.FunctionCall) goja.Value { return vm.ToValue(f.opts.Broker == "") },
		},
		"link": {
			"set": f.jsLinkSet, "outage": f.jsLinkOutage, "blackhole": f.jsLinkBlackhole,
			"cut": f.jsLinkCut, "stats": f.jsLinkStats,
		},
	}
	for name, methods := range objects {
		o := vm.NewObject()
		for m, fn := range methods {
			if err := o.Set(m, f.native(vm, m, fn)); err != nil {
				return err
			}
		}
		if err := g.Set(name, o); err != nil {
			return err
		}
	}
	for name, v := range map[string]goja.Value{
		"test":     test,
		"expect":   f.native(vm, "expect", f.jsExpect),
		runAllName: f.native(vm, runAllName, func(goja.FunctionCall) goja.Value { f.runAll(); return goja.Undefined() }),
	} {
		if err := g.Set(name, v); err != nil {
			return err
		}
	}
	return nil
}

// native wraps fn with a firewall: a Go panic that is not a JS value becomes a JS Error
// (never a crash of the host).
func (f *fileRun) native(vm *goja.Runtime, name string, fn func(goja.FunctionCall) goja.Value) *goja.Object {
	return vm.ToValue(func(call goja.FunctionCall) (ret goja.Value) {
		defer func() {
			if r := recover(); r != nil {
				switch r.(type) {
				case goja.Value, *goja.Exception, *goja.InterruptedError:
					panic(r)
				}
				f.throw("Error", fmt.Sprintf("%s: internal error: %v\n%s", name, r, debug.Stack()))
			}
		}()
		return fn(call)
	}).(*goja.Object)
}

// throw throws a JS error of the given name (Error, TypeError, AssertionError).
func (f *fileRun) throw(name, msg string) {
	vm := f.loop.VM()
	o, err := vm.New(vm.Get("Error"), vm.ToValue(msg))
	if err != nil {
		panic(vm.ToValue(msg))
	}
	_ = o.Set("name", name)
	panic(o)
}

// throwSkip ends the test as skipped.
func (f *fileRun) throwSkip(reason string) {
	vm := f.loop.VM()
	o, _ := vm.New(vm.Get("Error"), vm.ToValue("skipped: "+reason))
	_ = o.Set("name", "Skip")
	_ = o.Set("__devtestSkip", reason)
	panic(o)
}

// w returns the current test's world; outside a test it throws.
func (f *fileRun) w() *World {
	if f.world == nil {
		f.throw("Error", "world, device, broker and link work only inside a test(name, fn)")
	}
	return f.world
}

// jsTest is test(name, fn) (or test.skip(name, fn, reason)).
func (f *fileRun) jsTest(skip string) func(goja.FunctionCall) goja.Value {
	return func(call goja.FunctionCall) goja.Value {
		name := call.Argument(0)
		fn, ok := goja.AssertFunction(call.Argument(1))
		if goja.IsUndefined(name) || !ok {
			f.throw("TypeError", "test(name, fn): want a name and a function")
		}
		reason := skip
		if skip != "" && !goja.IsUndefined(call.Argument(2)) {
			reason = call.Argument(2).String()
		}
		f.tests = append(f.tests, registered{name: name.String(), skip: reason, fn: fn})
		return goja.Undefined()
	}
}

// testError turns what a test function threw into a Go error (skipError for a skip).
// Frames in file past its last line (lines) are the runner's own call and are left out.
func testError(err error, file string, lines int) error {
	var ex *goja.Exception
	if err == nil || !errors.As(err, &ex) {
		return err
	}
	if o, ok := ex.Value().(*goja.Object); ok {
		if s := o.Get("__devtestSkip"); s != nil && !goja.IsUndefined(s) {
			return &skipError{reason: s.String()}
		}
		if m := o.Get("message"); m != nil && !goja.IsUndefined(m) {
			name := "Error"
			if n := o.Get("name"); n != nil && !goja.IsUndefined(n) {
				name = n.String()
			}
			if name == "AssertionError" {
				return errors.New(m.String() + "\n" + stackLines(ex, file, lines))
			}
			return errors.New(name + ": " + m.String() + "\n" + stackLines(ex, file, lines))
		}
	}
	return errors.New(ex.String())
}

// stackLines is the JS position of an exception (the test's own frames).
func stackLines(ex *goja.Exception, file string, lines int) string {
	var s string
	for _, fr := range ex.Stack() {
		if p := fr.Position(); p.Filename != "" && (p.Filename != file || p.Line <= lines) {
			s += fmt.Sprintf("    at %s:%d:%d\n", p.Filename, p.Line, p.Column)
		}
	}
	return s
}

// ms reads a non-negative number of milliseconds.
func (f *fileRun) ms(v goja.Value, what string) time.Duration {
	n := v.ToFloat()
	if goja.IsUndefined(v) || n != n || n < 0 || n > 1e13 {
		f.throw("TypeError", fmt.Sprintf("%s: want milliseconds >= 0, got %v", what, v))
	}
	return time.Duration(n * float64(time.Millisecond))
}

func (f *fileRun) jsAfter(call goja.FunctionCall) goja.Value {
	w := f.w()
	if err := w.advance(f.ms(call.Argument(0), "world.after(ms)"), nil); err != nil {
		f.throw("Error", "world.after: "+err.Error())
	}
	return goja.Undefined()
}

func (f *fileRun) jsUntil(call goja.FunctionCall) goja.Value {
	w := f.w()
	pred, ok := goja.AssertFunction(call.Argument(0))
	if !ok {
		f.throw("TypeError", "world.until(predicate, timeoutMs): predicate must be a function")
	}
	budget := f.ms(call.Argument(1), "world.until(predicate, timeoutMs)")
	start := w.NowMs()
	err := w.advance(budget, func() (bool, error) {
		v, err := pred(goja.Undefined())
		if err != nil {
			return false, err
		}
		return v.ToBoolean(), nil
	})
	if errors.Is(err, errTimeUp) {
		f.throw("AssertionError", fmt.Sprintf("world.until: the condition was still false after %dms of device time (from %dms to %dms)%s",
			budget.Milliseconds(), start, w.NowMs(), f.lastTraces()))
	}
	if err != nil {
		var ex *goja.Exception
		if errors.As(err, &ex) {
			panic(ex)
		}
		f.throw("Error", "world.until: "+err.Error())
	}
	return f.loop.VM().ToValue(w.NowMs() - start)
}

func (f *fileRun) jsNow(goja.FunctionCall) goja.Value { return f.loop.VM().ToValue(f.w().NowMs()) }

// jsPublish is world.publish(topic, payload, {qos, retain}).
func (f *fileRun) jsPublish(call goja.FunctionCall) goja.Value {
	w := f.w()
	topic := call.Argument(0).String()
	if err := mqttcore.ValidateTopicName(topic); err != nil {
		f.throw("TypeError", "world.publish: "+err.Error())
	}
	qos, retain := f.qosRetain(call.Argument(2))
	if err := w.publish(topic, []byte(call.Argument(1).String()), qos, retain); err != nil {
		f.throw("Error", "world.publish: "+err.Error())
	}
	return goja.Undefined()
}

func (f *fileRun) qosRetain(v goja.Value) (byte, bool) {
	o, ok := v.(*goja.Object)
	if !ok {
		return 0, false
	}
	var qos byte
	if q := o.Get("qos"); q != nil && !goja.IsUndefined(q) {
		n := q.ToInteger()
		if n < 0 || n > 2 {
			f.throw("TypeError", fmt.Sprintf("qos must be 0, 1 or 2, got %v", q))
		}
		qos = byte(n)
	}
	r := o.Get("retain")
	return qos, r != nil && r.ToBoolean()
}

// jsSubscribe is world.subscribe(filter): an object whose messages() lists what arrived.
func (f *fileRun) jsSubscribe(call goja.FunctionCall) goja.Value {
	w := f.w()
	filter := call.Argument(0).String()
	if err := mqttcore.ValidateTopicFilter(filter); err != nil {
		f.throw("TypeError", "world.subscribe: "+err.Error())
	}
	s, err := w.subscribe(filter)
	if err != nil {
		f.throw("Error", "world.subscribe: "+err.Error())
	}
	vm := f.loop.VM()
	o := vm.NewObject()
	_ = o.Set("filter", filter)
	_ = o.Set("messages", f.native(vm, "messages", func(goja.FunctionCall) goja.Value {
		var out []any
		for _, m := range s.messages() {
			out = append(out, map[string]any{"topic": m.Topic, "payload": string(m.Payload), "qos": int(m.QoS),
				"retain": m.Retain, "atMs": m.AtMs})
		}
		return vm.ToValue(orEmpty(out))
	}))
	return o
}

func orEmpty(v []any) []any {
	if v == nil {
		return []any{}
	}
	return v
}

// jsNewCA returns a fresh CA and a client certificate it signed, as PEM: {ca, cert, key}.
func (f *fileRun) jsNewCA(goja.FunctionCall) goja.Value {
	ca, err := pki.NewCA("devtest CA")
	if err != nil {
		f.throw("Error", err.Error())
	}
	cl, err := ca.IssueClient("device")
	if err != nil {
		f.throw("Error", err.Error())
	}
	return f.loop.VM().ToValue(map[string]any{"ca": string(ca.CertPEM), "cert": string(cl.CertPEM), "key": string(cl.KeyPEM)})
}

// jsStart is device.start(path, {clientId, ssl: {ca, cert, key}, link, forMs, limits}).
func (f *fileRun) jsStart(call goja.FunctionCall) goja.Value {
	w := f.w()
	rel := call.Argument(0).String()
	src, err := f.opts.readSource(f.opts.resolve(f.dir, rel), srcfile.MaxBytes)
	if err != nil {
		f.throw("Error", "device.start: "+err.Error())
	}
	var o DeviceOptions
	if obj, ok := call.Argument(1).(*goja.Object); ok {
		o = f.deviceOptions(obj)
	}
	d, err := w.startDevice(devicejs.Script{Name: rel, Source: string(src)}, o)
	if err != nil {
		f.throw("Error", "device.start: "+err.Error())
	}
	h := &deviceJS{d: d}
	h.obj = f.deviceObject(d)
	f.devices = append(f.devices, h)
	return h.obj
}

func (f *fileRun) deviceOptions(obj *goja.Object) DeviceOptions {
	var o DeviceOptions
	str := func(v goja.Value) string {
		if v == nil || goja.IsUndefined(v) || goja.IsNull(v) {
			return ""
		}
		return v.String()
	}
	o.ClientID = str(obj.Get("clientId"))
	if ssl, ok := obj.Get("ssl").(*goja.Object); ok {
		o.TLS = devicejs.TLS{CA: str(ssl.Get("ca")), Cert: str(ssl.Get("cert")), Key: str(ssl.Get("key"))}
	}
	if v := obj.Get("link"); v != nil && !goja.IsUndefined(v) {
		o.Link = f.conditions(v).String()
	}
	if v := obj.Get("forMs"); v != nil && !goja.IsUndefined(v) {
		o.For = f.ms(v, "device.start: forMs")
	}
	if str(obj.Get("limits")) == "host" {
		o.Limits = mqttcore.HostLimits()
	}
	if v := obj.Get("globals"); v != nil && !goja.IsUndefined(v) {
		o.Globals = f.globalsJSON(v)
	}
	return o
}

// deviceObject is the JS handle of a device under test.
func (f *fileRun) deviceObject(d *DeviceUnderTest) *goja.Object {
	vm := f.loop.VM()
	o := vm.NewObject()
	_ = o.Set("name", d.Name)
	methods := map[string]func(goja.FunctionCall) goja.Value{
		"lines": func(goja.FunctionCall) goja.Value {
			var out []any
			for _, l := range d.Lines() {
				out = append(out, l.Text)
			}
			return vm.ToValue(orEmpty(out))
		},
		"published": func(goja.FunctionCall) goja.Value { return vm.ToValue(publishedJS(d.Published())) },
		"trace": func(goja.FunctionCall) goja.Value {
			var out []any
			for _, t := range d.Trace() {
				out = append(out, traceJS(t))
			}
			return vm.ToValue(orEmpty(out))
		},
		"count": func(call goja.FunctionCall) goja.Value {
			return vm.ToValue(countKind(d.Trace(), mqttcore.TraceKind(call.Argument(0).String())))
		},
		"done":     func(goja.FunctionCall) goja.Value { return vm.ToValue(d.Done()) },
		"clientId": func(goja.FunctionCall) goja.Value { return vm.ToValue(d.ClientID()) },
		"ending": func(goja.FunctionCall) goja.Value {
			if r := d.Result(); r != nil {
				return vm.ToValue(r.Ending.String())
			}
			return goja.Undefined()
		},
		"error": func(goja.FunctionCall) goja.Value {
			if r := d.Result(); r != nil && r.Err != nil {
				return vm.ToValue(r.Err.Error())
			}
			return goja.Undefined()
		},
		"stop": func(goja.FunctionCall) goja.Value { d.stop(); return goja.Undefined() },
	}
	for name, fn := range methods {
		_ = o.Set(name, f.native(vm, name, fn))
	}
	return o
}

func publishedJS(ps []Published) []any {
	out := []any{}
	for _, p := range ps {
		out = append(out, map[string]any{"topic": p.Topic, "payload": string(p.Payload), "qos": int(p.QoS),
			"retain": p.Retain, "atMs": p.AtMs, "clientId": p.ClientID})
	}
	return out
}

// traceJS is a trace entry as d.trace() shows it: the keys of the --trace-json record (package
// trace), error included, plus atMs; err is kept as a deprecated alias of error.
func traceJS(t TraceEntry) map[string]any {
	e := t.Event
	return map[string]any{"atMs": t.AtMs, "kind": string(e.Kind), "topic": e.Topic, "qos": int(e.QoS),
		"code": int(e.Code), "returnCode": int(e.ReturnCode), "errno": int(e.Errno), "error": e.Err, "err": e.Err,
		"waitMs": e.Wait.Milliseconds(), "clientId": e.ClientID}
}

func countKind(tr []TraceEntry, k mqttcore.TraceKind) int {
	n := 0
	for _, t := range tr {
		if t.Event.Kind == k {
			n++
		}
	}
	return n
}

// lastTraces renders the last trace lines of every device of the test, for failure messages.
func (f *fileRun) lastTraces() string {
	const last = 12
	s := ""
	for _, h := range f.devices {
		tr := h.d.Trace()
		if len(tr) > last {
			tr = tr[len(tr)-last:]
		}
		s += fmt.Sprintf("\n  last trace lines of %s:\n%s", h.d.Name, indent(FormatTrace(tr), "    "))
		lines := h.d.Lines()
		if len(lines) > last {
			lines = lines[len(lines)-last:]
		}
		s += fmt.Sprintf("  last printed lines of %s:\n", h.d.Name)
		for _, l := range lines {
			s += fmt.Sprintf("    %8dms %s\n", l.AtMs, l.Text)
		}
	}
	return s
}
