package devtest

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strings"

	"github.com/dop251/goja"

	"github.com/devicejs/devicejs/internal/mqttwire"
	"github.com/devicejs/devicejs/mqttcore"
	"github.com/devicejs/devicejs/runtime/sandbox"
)

// outcome is what a matcher found: whether it holds, what was expected and what happened.
type outcome struct {
	pass     bool
	expected string
	actual   string
}

type matcher func(args []goja.Value) outcome

// jsExpect is expect(value): value matchers, and device matchers when value is a device handle.
func (f *fileRun) jsExpect(call goja.FunctionCall) goja.Value {
	vm := f.loop.VM()
	v := call.Argument(0)
	ms := f.valueMatchers(v)
	subject := describe(v)
	for _, h := range f.devices {
		if o, ok := v.(*goja.Object); ok && o == h.obj {
			for k, m := range f.deviceMatchers(h.d) {
				ms[k] = m
			}
			subject = h.d.Name
		}
	}
	build := func(negate bool) *goja.Object {
		o := vm.NewObject()
		for name, m := range ms {
			name, m := name, m
			_ = o.Set(name, f.native(vm, name, func(c goja.FunctionCall) goja.Value {
				r := m(c.Arguments)
				if r.pass != negate {
					return goja.Undefined()
				}
				not := ""
				if negate {
					not = "not."
				}
				var args []string
				for _, a := range c.Arguments {
					args = append(args, describe(a))
				}
				msg := fmt.Sprintf("expect(%s).%s%s(%s)\n  expected: %s%s\n  got:      %s", subject, not, name,
					strings.Join(args, ", "), map[bool]string{true: "NOT ", false: ""}[negate], r.expected, r.actual)
				f.throw("AssertionError", msg+f.lastTraces())
				return nil
			}))
		}
		return o
	}
	o := build(false)
	_ = o.Set("not", build(true))
	return o
}

func arg(args []goja.Value, i int) goja.Value {
	if i < len(args) {
		return args[i]
	}
	return goja.Undefined()
}

// valueMatchers are the generic matchers: toBe, toEqual, toBeTruthy, ...
func (f *fileRun) valueMatchers(v goja.Value) map[string]matcher {
	num := func(cmp func(a, b float64) bool, word string) matcher {
		return func(a []goja.Value) outcome {
			return outcome{cmp(v.ToFloat(), arg(a, 0).ToFloat()), word + " " + describe(arg(a, 0)), describe(v)}
		}
	}
	return map[string]matcher{
		"toBe": func(a []goja.Value) outcome {
			return outcome{v.StrictEquals(arg(a, 0)), describe(arg(a, 0)), describe(v)}
		},
		"toEqual": func(a []goja.Value) outcome {
			eq, diff := f.deepEqual(v, arg(a, 0))
			got := describe(v)
			if diff != "" {
				got += "\n  " + diff
			}
			return outcome{eq, describe(arg(a, 0)), got}
		},
		"toBeTruthy": func([]goja.Value) outcome { return outcome{v.ToBoolean(), "a truthy value", describe(v)} },
		"toBeFalsy":  func([]goja.Value) outcome { return outcome{!v.ToBoolean(), "a falsy value", describe(v)} },
		"toMatch": func(a []goja.Value) outcome {
			return outcome{f.pattern(arg(a, 0))(v.String()), "a string matching " + describe(arg(a, 0)), describe(v)}
		},
		"toContain": func(a []goja.Value) outcome {
			want := arg(a, 0)
			pass := false
			if o, ok := v.(*goja.Object); ok && o.ClassName() == "Array" {
				for _, k := range o.Keys() {
					if eq, _ := f.deepEqual(o.Get(k), want); eq {
						pass = true
						break
					}
				}
			} else {
				pass = strings.Contains(v.String(), want.String())
			}
			return outcome{pass, "something containing " + describe(want), describe(v)}
		},
		"toBeGreaterThan":        num(func(a, b float64) bool { return a > b }, "greater than"),
		"toBeGreaterThanOrEqual": num(func(a, b float64) bool { return a >= b }, "at least"),
		"toBeLessThan":           num(func(a, b float64) bool { return a < b }, "less than"),
		"toBeLessThanOrEqual":    num(func(a, b float64) bool { return a <= b }, "at most"),
	}
}

// deepEqual is deepEqual on the file's VM; a comparison too big or too deep throws an Error
// (the test fails), never a Go stack overflow.
func (f *fileRun) deepEqual(got, want goja.Value) (bool, string) {
	eq, diff, err := deepEqual(f.loop.VM(), got, want)
	if err != nil {
		f.throw("Error", "toEqual: "+err.Error())
	}
	return eq, diff
}

// pattern turns a RegExp or a string (the whole line, exactly) into a line test.
func (f *fileRun) pattern(v goja.Value) func(string) bool {
	if o, ok := v.(*goja.Object); ok && o.ClassName() == "RegExp" {
		src := o.Get("source").String()
		flags := o.Get("flags").String()
		if strings.Contains(flags, "i") {
			src = "(?i)" + src
		}
		re, err := regexp.Compile(src)
		if err != nil {
			f.throw("TypeError", fmt.Sprintf("pattern %s is not supported: %v", o.String(), err))
		}
		return re.MatchString
	}
	s := v.String()
	return func(line string) bool { return line == s }
}

// counted is an expected count: a number (exactly), {min, max}, or nothing (at least one).
type counted struct{ min, max int }

func (c counted) ok(n int) bool { return n >= c.min && (c.max < 0 || n <= c.max) }

func (c counted) String() string {
	switch {
	case c.max == c.min:
		return fmt.Sprintf("exactly %d", c.min)
	case c.max < 0:
		return fmt.Sprintf("at least %d", c.min)
	default:
		return fmt.Sprintf("%d to %d", c.min, c.max)
	}
}

// readCount reads count/min/max from an options object, or a bare number.
func readCount(v goja.Value) counted {
	c := counted{min: 1, max: -1}
	if v == nil || goja.IsUndefined(v) || goja.IsNull(v) {
		return c
	}
	o, ok := v.(*goja.Object)
	if !ok {
		n := int(v.ToInteger())
		return counted{n, n}
	}
	if x := o.Get("count"); x != nil && !goja.IsUndefined(x) {
		n := int(x.ToInteger())
		return counted{n, n}
	}
	if x := o.Get("min"); x != nil && !goja.IsUndefined(x) {
		c.min = int(x.ToInteger())
	}
	if x := o.Get("max"); x != nil && !goja.IsUndefined(x) {
		c.max = int(x.ToInteger())
		if o.Get("min") == nil || goja.IsUndefined(o.Get("min")) {
			c.min = 0
		}
	}
	return c
}

// deviceMatchers are the matchers on what a device did.
func (f *fileRun) deviceMatchers(d *DeviceUnderTest) map[string]matcher {
	traceCount := func(kind mqttcore.TraceKind, what string) matcher {
		return func(a []goja.Value) outcome {
			c := readCount(arg(a, 0))
			n := countKind(d.Trace(), kind)
			return outcome{c.ok(n), fmt.Sprintf("%s %s", c, what), fmt.Sprintf("%d", n)}
		}
	}
	return map[string]matcher{
		"toHavePrinted": func(a []goja.Value) outcome {
			match := f.pattern(arg(a, 0))
			c := readCount(arg(a, 1))
			n := 0
			lines := d.Lines()
			for _, l := range lines {
				if match(l.Text) {
					n++
				}
			}
			return outcome{c.ok(n), fmt.Sprintf("%s printed lines matching %s", c, describe(arg(a, 0))),
				fmt.Sprintf("%d matching of %d lines", n, len(lines))}
		},
		"toHavePrintedInOrder": func(a []goja.Value) outcome {
			o, ok := arg(a, 0).(*goja.Object)
			if !ok {
				f.throw("TypeError", "toHavePrintedInOrder([patterns]): want an array")
			}
			var pats []goja.Value
			for _, k := range o.Keys() {
				pats = append(pats, o.Get(k))
			}
			i := 0
			for _, l := range d.Lines() {
				if i < len(pats) && f.pattern(pats[i])(l.Text) {
					i++
				}
			}
			got := "all in order"
			if i < len(pats) {
				got = fmt.Sprintf("the first %d in order, then no line matching %s", i, describe(pats[i]))
			}
			return outcome{i == len(pats), fmt.Sprintf("lines matching %d patterns in order", len(pats)), got}
		},
		"toHavePublished": func(a []goja.Value) outcome {
			sel := f.publishMatch(arg(a, 0), "toHavePublished")
			c := readCount(arg(a, 0))
			if sel.pred != nil {
				c = readCount(arg(a, 1))
			}
			all := d.Published()
			n := 0
			for _, p := range all {
				if sel.match(p) {
					n++
				}
			}
			return outcome{c.ok(n), fmt.Sprintf("%s publishes matching %s", c, sel.describe(arg(a, 0))),
				fmt.Sprintf("%d matching; the broker received %d from the device: %s%s", n, len(all), summarize(all), sel.notes())}
		},
		"toHavePublishedInOrder": func(a []goja.Value) outcome {
			o, ok := arg(a, 0).(*goja.Object)
			if !ok || o.ClassName() != "Array" {
				f.throw("TypeError", "toHavePublishedInOrder([matches]): want an array")
			}
			var sels []*pubSelector
			for _, k := range o.Keys() {
				sels = append(sels, f.publishMatch(o.Get(k), "toHavePublishedInOrder"))
			}
			all := d.Published()
			i := 0
			for _, p := range all {
				if i < len(sels) && sels[i].match(p) {
					i++
				}
			}
			notes := ""
			if i < len(sels) {
				notes = sels[i].notes()
			}
			return outcome{i == len(sels), fmt.Sprintf("%d publishes in this order", len(sels)),
				fmt.Sprintf("the first %d in order; received: %s%s", i, summarize(all), notes)}
		},
		"toHaveConnected":   traceCount(mqttcore.TraceConnack, "accepted connections (CONNACK 0)"),
		"toHaveReconnected": traceCount(mqttcore.TraceReconnect, "reconnect events"),
		"toHaveClosed":      traceCount(mqttcore.TraceClose, "close events"),
		"toHaveEnded":       traceCount(mqttcore.TraceEnd, "end events"),
		"toHaveErrored": func(a []goja.Value) outcome {
			want := optInt(arg(a, 0), "code")
			c := readCount(arg(a, 0))
			n := 0
			for _, t := range d.Trace() {
				if t.Event.Kind == mqttcore.TraceError && (want < 0 || int(t.Event.Code) == want) {
					n++
				}
			}
			return outcome{c.ok(n), fmt.Sprintf("%s error events matching %s", c, describe(arg(a, 0))), fmt.Sprintf("%d", n)}
		},
		"toHaveFailedToConnect": func(a []goja.Value) outcome {
			errno, rc := optInt(arg(a, 0), "errno"), optInt(arg(a, 0), "returnCode")
			c := readCount(arg(a, 0))
			n := 0
			var seen []string
			for _, t := range d.Trace() {
				e := t.Event
				if e.Kind != mqttcore.TraceConnectFailed {
					continue
				}
				seen = append(seen, fmt.Sprintf("errno %d rc %d", e.Errno, e.ReturnCode))
				if (errno < 0 || int(e.Errno) == errno) && (rc < 0 || int(e.ReturnCode) == rc) {
					n++
				}
			}
			return outcome{c.ok(n), fmt.Sprintf("%s failed connection attempts matching %s", c, describe(arg(a, 0))),
				fmt.Sprintf("%d matching of %d failed attempts %v", n, len(seen), seen)}
		},
		"toHaveFinished": func([]goja.Value) outcome {
			got := "still running"
			if r := d.Result(); r != nil {
				got = r.Ending.String()
				if r.Err != nil {
					got += ": " + r.Err.Error()
				}
			}
			return outcome{d.Done() && d.Result().Err == nil, "the script to have finished without error", got}
		},
	}
}

// optInt reads an integer field of an options object, -1 when absent.
func optInt(v goja.Value, name string) int {
	o, ok := v.(*goja.Object)
	if !ok {
		return -1
	}
	x := o.Get(name)
	if x == nil || goja.IsUndefined(x) {
		return -1
	}
	return int(x.ToInteger())
}

// pubSelector selects publishes (toHavePublished, toHavePublishedInOrder). It counts why
// publishes that passed the other criteria failed the json criterion, for the failure message.
type pubSelector struct {
	f       *fileRun
	matcher string
	tests   []func(Published) bool
	json    goja.Value    // {json: ...}: a partial match of the parsed payload; nil if none
	pred    goja.Callable // the predicate form; nil if none
	seen    int           // publishes the predicate was called with

	nonJSON    int    // publishes whose payload is not JSON
	nonJSONEx  string // the first of them, with the parse error
	firstDiff  string // the first JSON difference
	jsonTested int
}

// publishMatch reads a match: {topic, payload, json, qos, retain, fromMs, toMs} or a
// predicate function(msg) returning true or false. topic may be an MQTT filter (+, #) or a
// RegExp, payload a string (exact) or a RegExp, json a value the payload, parsed as JSON, must
// match partially (partialMatch).
func (f *fileRun) publishMatch(v goja.Value, matcher string) *pubSelector {
	s := &pubSelector{f: f, matcher: matcher}
	if fn, ok := goja.AssertFunction(v); ok {
		s.pred = fn
		return s
	}
	o, _ := v.(*goja.Object)
	if o == nil {
		return s
	}
	get := func(k string) goja.Value {
		x := o.Get(k)
		if x == nil || goja.IsUndefined(x) {
			return nil
		}
		return x
	}
	if t := get("topic"); t != nil {
		if to, ok := t.(*goja.Object); ok && to.ClassName() == "RegExp" {
			m := f.pattern(t)
			s.tests = append(s.tests, func(p Published) bool { return m(p.Topic) })
		} else {
			filter := t.String()
			s.tests = append(s.tests, func(p Published) bool { return mqttwire.TopicMatch(filter, p.Topic) })
		}
	}
	if pl := get("payload"); pl != nil {
		m := f.pattern(pl)
		s.tests = append(s.tests, func(p Published) bool { return m(string(p.Payload)) })
	}
	if q := get("qos"); q != nil {
		qos := q.ToInteger()
		s.tests = append(s.tests, func(p Published) bool { return int64(p.QoS) == qos })
	}
	if r := get("retain"); r != nil {
		retain := r.ToBoolean()
		s.tests = append(s.tests, func(p Published) bool { return p.Retain == retain })
	}
	if x := get("fromMs"); x != nil {
		from := x.ToInteger()
		s.tests = append(s.tests, func(p Published) bool { return p.AtMs >= from })
	}
	if x := get("toMs"); x != nil {
		to := x.ToInteger()
		s.tests = append(s.tests, func(p Published) bool { return p.AtMs <= to })
	}
	s.json = get("json")
	return s
}

// match reports whether p is selected.
func (s *pubSelector) match(p Published) bool {
	for _, t := range s.tests {
		if !t(p) {
			return false
		}
	}
	if s.pred != nil {
		return s.predicate(p)
	}
	if s.json == nil {
		return true
	}
	got, err := s.f.parseJSON(p.Payload)
	if err != nil {
		s.nonJSON++
		if s.nonJSONEx == "" {
			s.nonJSONEx = fmt.Sprintf("%s %q: %v", p.Topic, truncate(string(p.Payload), 40), err)
		}
		return false
	}
	s.jsonTested++
	eq, diff, err := partialMatch(s.f.loop.VM(), got, s.json)
	if err != nil {
		s.f.throw("Error", s.matcher+": json: "+err.Error())
	}
	if !eq && s.firstDiff == "" {
		s.firstDiff = fmt.Sprintf("%s %q: %s", p.Topic, truncate(string(p.Payload), 40), diff)
	}
	return eq
}

// predicate calls the predicate with the message; it must return true or false.
func (s *pubSelector) predicate(p Published) bool {
	f := s.f
	s.seen++
	msg := f.messageJS(p)
	v, err := s.pred(goja.Undefined(), msg)
	if err != nil {
		var ie *goja.InterruptedError
		if errors.As(err, &ie) {
			panic(ie)
		}
		f.throw("Error", fmt.Sprintf("%s(predicate): the predicate threw on publish %d (%s %q): %v",
			s.matcher, s.seen, p.Topic, truncate(string(p.Payload), 40), testError(err, f.path, f.lines)))
	}
	if _, obj := v.(*goja.Object); obj || v.ExportType() != reflect.TypeOf(true) {
		f.throw("TypeError", fmt.Sprintf("%s(predicate): the predicate must return true or false, got %s (on publish %d, %s)",
			s.matcher, describe(v), s.seen, p.Topic))
	}
	return v.ToBoolean()
}

// describe renders the match for the message.
func (s *pubSelector) describe(v goja.Value) string {
	if s.pred != nil {
		return "the predicate"
	}
	return describe(v)
}

// notes explains publishes the json criterion refused.
func (s *pubSelector) notes() string {
	var b strings.Builder
	if s.nonJSON > 0 {
		fmt.Fprintf(&b, "\n  %d publishes had a payload that is not JSON (json never matches them), e.g. %s", s.nonJSON, s.nonJSONEx)
	}
	if s.firstDiff != "" {
		fmt.Fprintf(&b, "\n  first JSON payload that did not match: %s", s.firstDiff)
	}
	return b.String()
}

// maxPayloadJSONDepth bounds the nesting of a payload parsed for json and predicates.
const maxPayloadJSONDepth = 1000

// parseJSON parses a payload with the VM's original JSON.parse: an error when it is not JSON
// (or nested deeper than maxPayloadJSONDepth).
func (f *fileRun) parseJSON(b []byte) (goja.Value, error) {
	if !json.Valid(b) {
		var x any
		err := json.Unmarshal(b, &x)
		if err == nil {
			err = errors.New("not JSON")
		}
		return nil, fmt.Errorf("not JSON (%v)", err)
	}
	if sandbox.JSONDepth(string(b)) > maxPayloadJSONDepth {
		return nil, fmt.Errorf("JSON nested deeper than %d levels", maxPayloadJSONDepth)
	}
	v, err := f.jsonParse(goja.Undefined(), f.loop.VM().ToValue(string(b)))
	if err != nil {
		return nil, fmt.Errorf("not JSON (%v)", err)
	}
	return v, nil
}

// messageJS is the message a predicate receives: {topic, payload, qos, retain, atMs,
// clientId, json} (json: the parsed payload, undefined when it is not JSON).
func (f *fileRun) messageJS(p Published) *goja.Object {
	vm := f.loop.VM()
	o := vm.NewObject()
	_ = o.Set("topic", p.Topic)
	_ = o.Set("payload", string(p.Payload))
	_ = o.Set("qos", int(p.QoS))
	_ = o.Set("retain", p.Retain)
	_ = o.Set("atMs", p.AtMs)
	_ = o.Set("clientId", p.ClientID)
	if v, err := f.parseJSON(p.Payload); err == nil {
		_ = o.Set("json", v)
	} else {
		_ = o.Set("json", goja.Undefined())
	}
	return o
}

// summarize lists the last few publishes for a message.
func summarize(ps []Published) string {
	const last = 8
	var b strings.Builder
	if len(ps) > last {
		fmt.Fprintf(&b, "... %d earlier, ", len(ps)-last)
		ps = ps[len(ps)-last:]
	}
	for i, p := range ps {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %q qos%d @%dms", p.Topic, truncate(string(p.Payload), 40), p.QoS, p.AtMs)
	}
	if len(ps) == 0 {
		b.WriteString("none")
	}
	return b.String()
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

func indent(s, prefix string) string {
	if s == "" {
		return prefix + "(none)\n"
	}
	return prefix + strings.ReplaceAll(strings.TrimSuffix(s, "\n"), "\n", "\n"+prefix) + "\n"
}
