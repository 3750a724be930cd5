package link

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Conditions describe a link, each direction alike. The zero value is a perfect link: every
// byte passes at once.
type Conditions struct {
	// Latency is the one-way delay added to every segment, in device time.
	Latency time.Duration
	// Jitter is a uniform random amount in [-Jitter, +Jitter] added to Latency for each segment
	// (the sum never goes below zero). Order is kept, as TCP keeps it: a segment never
	// overtakes the one written before it.
	Jitter time.Duration
	// Loss (0 <= Loss < 1) is the probability that a segment is lost. TCP retransmits it, so
	// on the wire it is delayed by a retransmission timeout, never dropped from the stream
	// (see RTO).
	Loss float64
	// Bandwidth is the rate in bytes per second of each direction; 0 = unlimited.
	Bandwidth int64
}

// MinRTO is the smallest retransmission timeout (RFC 6298 allows 1 s; Linux uses 200 ms).
const MinRTO = 200 * time.Millisecond

// MaxRTO caps the doubled retransmission timeout (Linux TCP_RTO_MAX is 120 s).
const MaxRTO = 60 * time.Second

// MaxRetransmits bounds how many times one segment is lost in a row before it gets through.
const MaxRetransmits = 8

// RTO is the retransmission timeout of the first loss of a segment: max(MinRTO,
// 2*Latency+Jitter). Each further loss of the same segment doubles it (capped at MaxRTO).
func (c Conditions) RTO() time.Duration {
	return max(MinRTO, 2*c.Latency+c.Jitter)
}

// MaxDelay bounds Latency and Jitter.
const MaxDelay = time.Hour

// clamped is c with Latency and Jitter in [0, MaxDelay] (for conditions that skipped Validate).
func (c Conditions) clamped() Conditions {
	c.Latency = min(max(c.Latency, 0), MaxDelay)
	c.Jitter = min(max(c.Jitter, 0), MaxDelay)
	return c
}

// Validate reports the first field out of range, naming it.
func (c Conditions) Validate() error {
	switch {
	case c.Latency < 0 || c.Latency > MaxDelay:
		return fieldError("latency", "must be in [0, 1h], got %v", c.Latency)
	case c.Jitter < 0 || c.Jitter > MaxDelay:
		return fieldError("jitter", "must be in [0, 1h], got %v", c.Jitter)
	case math.IsNaN(c.Loss) || c.Loss < 0 || c.Loss >= 1:
		return fieldError("loss", "must be in [0%%, 100%%), got %v", c.Loss)
	case c.Bandwidth < 0:
		return fieldError("bandwidth", "must not be negative, got %d", c.Bandwidth)
	}
	return nil
}

// Profiles returns the named link profiles Parse accepts (a fresh map each call). docs/link.md
// says what each one models and where its figures come from.
func Profiles() map[string]Conditions {
	edge := Conditions{Latency: 400 * time.Millisecond, Jitter: 50 * time.Millisecond, Bandwidth: 200_000 / 8}
	return map[string]Conditions{
		"none":      {},
		"wifi":      {Latency: 1 * time.Millisecond, Bandwidth: 33_000_000 / 8},
		"lte":       {Latency: 50 * time.Millisecond, Jitter: 10 * time.Millisecond, Bandwidth: 10_000_000 / 8},
		"3g":        {Latency: 100 * time.Millisecond, Jitter: 20 * time.Millisecond, Bandwidth: 330_000 / 8},
		"edge":      edge,
		"2g":        edge,
		"satellite": {Latency: 300 * time.Millisecond, Jitter: 20 * time.Millisecond, Loss: 0.005, Bandwidth: 492_000 / 8},
		"flaky":     {Latency: 200 * time.Millisecond, Jitter: 150 * time.Millisecond, Loss: 0.03, Bandwidth: 256_000 / 8},
	}
}

// profileNames lists the profiles in a stable order for error messages.
func profileNames() string {
	var names []string
	for n := range Profiles() {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// Parse reads a link spec: a profile name ("lte", "3g", "flaky", ...), comma-separated
// fields ("latency=200ms,jitter=50ms,loss=1%,bandwidth=256kbit"), or a profile followed by
// fields that override it ("3g,loss=5%"). Durations use Go syntax (200ms, 1.5s); loss is a
// percentage ("1%") or a fraction ("0.01"); bandwidth is bits per second with a unit (bit,
// kbit, mbit, gbit) or bytes per second (B, kB, MB, GB), SI multiples. Errors name the field.
func Parse(spec string) (Conditions, error) {
	var c Conditions
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return c, fmt.Errorf("empty link spec: want a profile (%s) or fields like latency=200ms,loss=1%%", profileNames())
	}
	seen := map[string]bool{}
	for i, part := range strings.Split(spec, ",") {
		part = strings.TrimSpace(part)
		key, val, hasEq := strings.Cut(part, "=")
		key = strings.ToLower(strings.TrimSpace(key))
		val = strings.TrimSpace(val)
		if !hasEq {
			p, ok := Profiles()[key]
			if !ok || i != 0 {
				if ok {
					return Conditions{}, fmt.Errorf("profile %q must come first", key)
				}
				return Conditions{}, fmt.Errorf("unknown profile %q: want one of %s, or field=value", part, profileNames())
			}
			c = p
			continue
		}
		if seen[key] {
			return Conditions{}, fieldError(key, "given twice")
		}
		seen[key] = true
		var err error
		switch key {
		case "latency":
			c.Latency, err = parseDuration(key, val)
		case "jitter":
			c.Jitter, err = parseDuration(key, val)
		case "loss":
			c.Loss, err = parseLoss(val)
		case "bandwidth":
			c.Bandwidth, err = parseBandwidth(val)
		default:
			return Conditions{}, fmt.Errorf("unknown field %q: want latency, jitter, loss or bandwidth", key)
		}
		if err != nil {
			return Conditions{}, err
		}
	}
	if err := c.Validate(); err != nil {
		return Conditions{}, err
	}
	return c, nil
}

// String returns the spec Parse reads back to c, fields in a fixed order, zero fields left
// out; the perfect link is "none".
func (c Conditions) String() string {
	var parts []string
	if c.Latency != 0 {
		parts = append(parts, "latency="+c.Latency.String())
	}
	if c.Jitter != 0 {
		parts = append(parts, "jitter="+c.Jitter.String())
	}
	if c.Loss != 0 {
		parts = append(parts, "loss="+strconv.FormatFloat(c.Loss*100, 'g', -1, 64)+"%")
	}
	if c.Bandwidth != 0 {
		parts = append(parts, "bandwidth="+formatBandwidth(c.Bandwidth))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ",")
}

func fieldError(field, format string, args ...any) error {
	return fmt.Errorf("field %q: %s", field, fmt.Sprintf(format, args...))
}

func parseDuration(field, val string) (time.Duration, error) {
	d, err := time.ParseDuration(val)
	if err != nil {
		return 0, fieldError(field, "want a duration like 200ms, got %q", val)
	}
	if d < 0 {
		return 0, fieldError(field, "must not be negative, got %q", val)
	}
	if d > MaxDelay {
		return 0, fieldError(field, "at most 1h, got %q", val)
	}
	return d, nil
}

func parseLoss(val string) (float64, error) {
	num, pct := strings.CutSuffix(val, "%")
	f, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fieldError("loss", "want a percentage like 1%% or a fraction like 0.01, got %q", val)
	}
	if pct {
		f /= 100
	}
	if f < 0 || f >= 1 {
		return 0, fieldError("loss", "must be in [0%%, 100%%), got %q", val)
	}
	return f, nil
}

// bandwidthUnits maps a unit to bytes per second per unit, longest suffixes first.
var bandwidthUnits = []struct {
	suffix string
	bytes  float64
}{
	{"gbit", 1e9 / 8}, {"mbit", 1e6 / 8}, {"kbit", 1e3 / 8}, {"bit", 1.0 / 8},
	{"GB", 1e9}, {"MB", 1e6}, {"kB", 1e3}, {"B", 1},
}

func parseBandwidth(val string) (int64, error) {
	bad := fieldError("bandwidth", "want a rate like 256kbit, 1mbit or 64kB (bytes/s), got %q", val)
	v := strings.TrimSuffix(val, "/s")
	for _, u := range bandwidthUnits {
		num, ok := strings.CutSuffix(v, u.suffix)
		if !ok {
			continue
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 {
			return 0, bad
		}
		b := f * u.bytes
		if b > 1e12 {
			return 0, fieldError("bandwidth", "at most 8000gbit, got %q", val)
		}
		if f > 0 && b < 1 {
			return 0, fieldError("bandwidth", "at least 8bit (1 byte/s), got %q", val)
		}
		return int64(math.Round(b)), nil
	}
	return 0, bad
}

// formatBandwidth writes bytes/s as bits/s in the largest exact unit.
func formatBandwidth(bps int64) string {
	bits := bps * 8
	for _, u := range []struct {
		name string
		div  int64
	}{{"gbit", 1e9}, {"mbit", 1e6}, {"kbit", 1e3}} {
		if bits%u.div == 0 {
			return strconv.FormatInt(bits/u.div, 10) + u.name
		}
	}
	return strconv.FormatInt(bits, 10) + "bit"
}
