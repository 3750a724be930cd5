package fleet

import (
	"bytes"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Threshold is a pass/fail criterion on a summary figure, as given to --threshold:
// METRIC OP VALUE, e.g. "publish_p99<500ms", "errors_rate<0.1%", "connect_p99<2s" (k6's
// convention: the expression says what must hold). docs/fleet.md lists the metrics.
type Threshold struct {
	Text   string  // as given
	Metric string  // e.g. "publish_p99"
	Op     string  // <, <=, >, >=, ==, !=
	Value  float64 // in the metric's unit: ms for durations, a fraction for rates, a count
	kind   metricKind
	q      float64 // the quantile of a pNN metric (0 < q <= 1); 1 for max
	hist   string  // "connect", "e2e", or the PublishLatency key of a publish metric
}

// ThresholdResult is a Threshold evaluated against a summary.
type ThresholdResult struct {
	Threshold string  `json:"threshold"` // as given
	Value     float64 `json:"value"`     // the figure, in Unit
	Unit      string  `json:"unit"`      // "ms", "ratio" (0.001 = 0.1 %) or "count"
	Held      bool    `json:"held"`      // the expression is true
	// NoData: the figure has no samples (no publish of that QoS completed, no instance
	// connected); a threshold on it is crossed, whatever its operator.
	NoData bool `json:"no_data,omitempty"`
}

type metricKind int

const (
	kindDuration metricKind = iota // ms
	kindRate                       // fraction
	kindCount
)

var unitNames = [...]string{kindDuration: "ms", kindRate: "ratio", kindCount: "count"}

// thresholdOps are the operators, longest first so that "<=" is not read as "<".
var thresholdOps = []string{"<=", ">=", "==", "!=", "<", ">"}

// ParseThreshold reads one --threshold. The error names it.
func ParseThreshold(text string) (Threshold, error) {
	t, err := parseThreshold(text)
	if err != nil {
		return Threshold{}, fmt.Errorf("threshold %q: %w", text, err)
	}
	return t, nil
}

func parseThreshold(text string) (Threshold, error) {
	t := Threshold{Text: text}
	s := strings.TrimSpace(text)
	if s == "" {
		return t, fmt.Errorf("empty; want METRIC OP VALUE, e.g. publish_p99<500ms")
	}
	at := strings.IndexAny(s, "<>=!")
	if at < 0 {
		return t, fmt.Errorf("no operator (<, <=, >, >=, ==, !=)")
	}
	t.Metric = strings.TrimSpace(s[:at])
	rest := s[at:]
	for _, op := range thresholdOps {
		if strings.HasPrefix(rest, op) {
			t.Op = op
			break
		}
	}
	if t.Op == "" {
		return t, fmt.Errorf("unknown operator at %q (want <, <=, >, >=, ==, !=)", rest)
	}
	value := strings.TrimSpace(rest[len(t.Op):])
	if strings.ContainsAny(value, "<>=!") {
		return t, fmt.Errorf("more than one operator")
	}
	if err := t.parseMetric(); err != nil {
		return t, err
	}
	v, err := parseThresholdValue(value, t.kind)
	if err != nil {
		return t, err
	}
	t.Value = v
	return t, nil
}

// parseMetric sets kind, q and hist from Metric.
func (t *Threshold) parseMetric() error {
	m := t.Metric
	switch m {
	case "":
		return fmt.Errorf("no metric before the operator")
	case "errors_rate", "publish_errors_rate":
		t.kind = kindRate
		return nil
	case "errors", "publish_errors", "in_flight_at_end", "connections_lost":
		t.kind = kindCount
		return nil
	case "recovery_max":
		t.kind = kindDuration
		return nil
	}
	name, stat, ok := cutLast(m, "_")
	if !ok {
		return unknownMetric(m)
	}
	switch {
	case name == "connect":
		t.hist = "connect"
	case name == "e2e":
		t.hist = "e2e"
	case name == "publish":
		t.hist = latencyAll
	case strings.HasPrefix(name, "publish_qos") && len(name) == len("publish_qos0") && name[11] >= '0' && name[11] <= '2':
		t.hist = "qos" + name[11:]
	default:
		return unknownMetric(m)
	}
	t.kind = kindDuration
	if stat == "max" {
		t.q = 1
		return nil
	}
	digits, ok := strings.CutPrefix(stat, "p")
	if !ok || digits == "" || strings.Trim(digits, "0123456789.") != "" {
		return fmt.Errorf("metric %q: want _pNN (a percentile, e.g. p99 or p99.9) or _max after %s", m, name)
	}
	p, err := strconv.ParseFloat(digits, 64)
	if err != nil || p <= 0 || p > 100 {
		return fmt.Errorf("metric %q: percentile %s is not in (0, 100]", m, digits)
	}
	t.q = p / 100
	return nil
}

func cutLast(s, sep string) (before, after string, ok bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+len(sep):], true
}

func unknownMetric(m string) error {
	return fmt.Errorf("unknown metric %q (want connect_pNN, publish_pNN, publish_qosN_pNN, e2e_pNN, their _max, "+
		"errors_rate, publish_errors_rate, errors, publish_errors, in_flight_at_end, connections_lost, recovery_max)", m)
}

// parseThresholdValue reads VALUE for a metric of kind k: a duration ("500ms", "2s"; a bare
// number is milliseconds, as in k6), a rate ("0.1%", or a bare fraction "0.001"), or a count.
func parseThresholdValue(v string, k metricKind) (float64, error) {
	if v == "" {
		return 0, fmt.Errorf("no value after the operator")
	}
	num := strings.TrimRight(v, "abcdefghijklmnopqrstuvwxyzµ%")
	unit := v[len(num):]
	num = strings.TrimSpace(num)
	if strings.HasPrefix(num, "-") {
		return 0, fmt.Errorf("value %q is negative", v)
	}
	if !plainNumber().MatchString(num) {
		return 0, fmt.Errorf("value %q is not a number", v)
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || math.IsInf(f, 0) {
		return 0, fmt.Errorf("value %q is not a finite number", v)
	}
	switch k {
	case kindDuration:
		if unit == "" {
			return f, nil
		}
		if unit == "%" {
			return 0, fmt.Errorf("value %q: a duration metric takes a time (500ms, 2s), not a percentage", v)
		}
		per, ok := durationUnits[unit]
		if !ok {
			return 0, fmt.Errorf("value %q: unknown time unit %q (ns, us, ms, s, m, h)", v, unit)
		}
		return f * float64(per) / float64(time.Millisecond), nil
	case kindRate:
		switch unit {
		case "%":
			f /= 100
		case "":
		default:
			return 0, fmt.Errorf("value %q: a rate takes a percentage (0.1%%) or a fraction (0.001), not %q", v, unit)
		}
		if f > 1 {
			return 0, fmt.Errorf("value %q: a rate is at most 100%%", v)
		}
		return f, nil
	default:
		if unit != "" || f != math.Trunc(f) {
			return 0, fmt.Errorf("value %q: a count takes a whole number", v)
		}
		return f, nil
	}
}

// durationUnits are the time units of a duration threshold.
var durationUnits = map[string]time.Duration{"ns": time.Nanosecond, "us": time.Microsecond, "µs": time.Microsecond,
	"ms": time.Millisecond, "s": time.Second, "m": time.Minute, "h": time.Hour}

// plainNumber is a threshold's number: decimal digits, an optional fraction and exponent
// ("0x10", "Inf", "NaN", "1_000" and "+5", which ParseFloat takes, are refused). Compiled at
// the first threshold parsed, not at init: most processes (every `devicejs run`) parse none.
var plainNumber = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$`)
})

// ParseThresholds reads every --threshold; the first malformed one is the error.
func ParseThresholds(texts []string) ([]Threshold, error) {
	out := make([]Threshold, 0, len(texts))
	for _, s := range texts {
		t, err := ParseThreshold(s)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// Evaluate returns t's figure in s and whether t holds.
func (t Threshold) Evaluate(s Summary) ThresholdResult {
	r := ThresholdResult{Threshold: t.Text, Unit: unitNames[t.kind]}
	v, ok := t.figure(s)
	r.Value, r.NoData = v, !ok
	if !ok {
		return r
	}
	switch t.Op {
	case "<":
		r.Held = v < t.Value
	case "<=":
		r.Held = v <= t.Value
	case ">":
		r.Held = v > t.Value
	case ">=":
		r.Held = v >= t.Value
	case "==":
		r.Held = v == t.Value
	case "!=":
		r.Held = v != t.Value
	}
	return r
}

// figure reads t's metric from s; false when it has no samples.
func (t Threshold) figure(s Summary) (float64, bool) {
	var errs uint64
	for _, n := range s.Errors {
		errs += n
	}
	switch t.Metric {
	case "errors_rate":
		ops := s.PublishAttempts + uint64(s.Instances)
		if ops == 0 {
			return 0, false
		}
		return float64(errs) / float64(ops), true
	case "publish_errors_rate":
		if s.PublishAttempts == 0 {
			return 0, false
		}
		return float64(s.PublishErrors) / float64(s.PublishAttempts), true
	case "errors":
		return float64(errs), true
	case "publish_errors":
		return float64(s.PublishErrors), true
	case "in_flight_at_end":
		return float64(s.InFlightAtEnd), true
	case "connections_lost":
		return float64(s.ConnectionsLost), true
	case "recovery_max":
		if len(s.Storms) == 0 {
			return 0, true
		}
		var worst float64
		for _, st := range s.Storms {
			rec := st.RecoverySeconds
			if !st.Recovered { // still down at the end: at least until then
				rec = max(s.ElapsedSeconds-st.StartSeconds, 0)
			}
			worst = max(worst, rec)
		}
		return worst * 1000, true
	}
	h := s.ConnectLatency
	switch {
	case t.hist == "e2e":
		h = Histogram{}
		if s.E2E != nil {
			h = s.E2E.Latency
		}
	case t.hist != "connect":
		h = s.PublishLatency[t.hist]
		if t.hist == latencyAll && h.Count == 0 { // a summary without "all": rebuild it
			for _, k := range qosKeys {
				h.merge(s.PublishLatency[k])
			}
		}
	}
	if h.Count == 0 {
		return 0, false
	}
	if t.q >= 1 {
		return h.MaxMicros / 1000, true
	}
	return min(float64(h.Quantile(t.q))/float64(time.Millisecond), h.MaxMicros/1000), true
}

// EvaluateThresholds evaluates ts against s, in order.
func EvaluateThresholds(ts []Threshold, s Summary) []ThresholdResult {
	if len(ts) == 0 {
		return nil
	}
	out := make([]ThresholdResult, len(ts))
	for i, t := range ts {
		out[i] = t.Evaluate(s)
	}
	return out
}

// Crossed returns the results that did not hold.
func Crossed(rs []ThresholdResult) []ThresholdResult {
	var out []ThresholdResult
	for _, r := range rs {
		if !r.Held {
			out = append(out, r)
		}
	}
	return out
}

// String is the result for people: "publish_p99<500ms: 12.3 ms, held".
func (r ThresholdResult) String() string {
	verdict := "held"
	if !r.Held {
		verdict = "CROSSED"
	}
	if r.NoData {
		return fmt.Sprintf("%s: no data, %s", r.Threshold, verdict)
	}
	var v string
	switch r.Unit {
	case "ratio":
		v = strconv.FormatFloat(r.Value*100, 'g', 4, 64) + " %"
	case "ms":
		v = strconv.FormatFloat(r.Value, 'f', 1, 64) + " ms"
	default:
		v = strconv.FormatFloat(r.Value, 'f', -1, 64)
	}
	return fmt.Sprintf("%s: %s, %s", r.Threshold, v, verdict)
}

// writeThresholdsText writes the thresholds' results of WriteText.
func writeThresholdsText(b *bytes.Buffer, rs []ThresholdResult) {
	if len(rs) == 0 {
		return
	}
	fmt.Fprintf(b, "  thresholds: %d of %d crossed\n", len(Crossed(rs)), len(rs))
	for _, r := range rs {
		fmt.Fprintf(b, "    %s\n", r)
	}
}
