package fleet

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// SummaryVersion is the Version of the summaries this package writes.
const SummaryVersion = 1

// Summary is what a fleet (or a shard of one) did; its JSON form is documented in docs/fleet.md
// and summaries of the shards of one fleet combine with Merge.
type Summary struct {
	Version   int      `json:"version"`
	FleetSize int      `json:"fleet_size"` // -n: instances in the whole fleet
	Instances int      `json:"instances"`  // instances this summary covers
	Shards    []string `json:"shards"`     // "i/n" of each shard covered

	ElapsedSeconds float64 `json:"elapsed_seconds"` // wall time from the first start to the last end
	// Connected counts instances whose broker accepted a connection at least once.
	Connected int `json:"connected"`
	// AllConnectedSeconds is the wall time from the start until every instance had connected
	// once; 0 when some never did.
	AllConnectedSeconds float64 `json:"all_connected_seconds"`
	// ConnectLatencyMS are percentiles of each instance's wall time from its start to its first
	// CONNACK, in milliseconds, read from ConnectLatency (so within its 9 % bucket width, except
	// Max, which is exact).
	ConnectLatencyMS Percentiles `json:"connect_latency_ms"`
	ConnectLatency   Histogram   `json:"connect_latency_histogram"`

	Published         uint64  `json:"published"`  // publishes completed with code 0
	Received          uint64  `json:"received"`   // messages delivered to scripts
	Discarded         uint64  `json:"discarded"`  // messages dropped for recvBuffSize
	Reconnects        uint64  `json:"reconnects"` // reconnection attempts
	Dropped           uint64  `json:"dropped"`    // messages dropped for a full inbound queue
	PublishesPerSec   float64 `json:"publishes_per_second"`
	MessagesPerSecond float64 `json:"messages_per_second"`
	// Errors counts failures by kind and code: "publish:<code>" for a publish completed with a
	// non-zero code, "error:<code>" for a connection that failed with no retry left.
	Errors map[string]uint64 `json:"errors"`

	ScriptErrors     int    `json:"script_errors"`      // instances that ended with a script error
	FirstScriptError string `json:"first_script_error"` // "[i] message at file:line:col", or ""
	// Endings counts how instances ended ("finished", "for elapsed", "canceled", "script failed").
	Endings map[string]int `json:"endings"`
	// Ended lists, by index, the instances that did not finish on their own or by --for: why
	// (memory budget, script error, worker crash, timeout, terminated, ...) and their clientId.
	Ended []Ended `json:"ended"`

	// RSSBytes is the process's resident memory (VmRSS) once every instance had connected,
	// read after a garbage collection that returns the start-up garbage to the OS, or at the
	// end of the run when some never connected; merged summaries add their shards' figures.
	RSSBytes uint64 `json:"rss_bytes"`
	// Goroutines is the process's goroutine count when RSSBytes was read (summed when merged).
	Goroutines int `json:"goroutines"`
	// PeakRSSBytes is the largest resident memory of the process (VmHWM) over the run; under
	// --workers, the largest sum of the workers' resident memory seen plus the supervisor's
	// own peak. Merged summaries add their figures (an upper bound).
	PeakRSSBytes uint64 `json:"peak_rss_bytes"`

	// Series samples the fleet's progress over wall time (written by `devicejs fleet` when
	// --report or --ui is given; absent otherwise). Merged summaries add their shards' samples
	// index by index (each shard samples at the same interval from its own start).
	Series []Sample `json:"series,omitempty"`
	// Slowest are the instances with the longest connect latencies, slowest first (at most
	// SlowestKept; recorded with Series).
	Slowest []DeviceLatency `json:"slowest,omitempty"`

	// Load are the load-test figures (publish latency and accounting, storms, thresholds;
	// load.go), at the top level of the JSON.
	Load

	// Settings are the run's settings (devicejs version, broker, link, ramp, --for, time scale,
	// shard, script hash), set by `devicejs fleet`; absent in summaries written before they were
	// recorded.
	Settings *Settings `json:"settings,omitempty"`
}

// Settings are what a fleet run was asked to do, so that a summary (and the report made from
// it) says which run it describes. Durations are Go duration text ("30s", "0s").
type Settings struct {
	Version      string  `json:"version"`             // devicejs version ("dev" for a local build)
	Broker       string  `json:"broker"`              // --broker: "embedded", HOST:PORT, or "" = the script's own
	Link         string  `json:"link"`                // --link as given; "" = none
	Ramp         string  `json:"ramp"`                // --ramp
	For          string  `json:"for"`                 // --for (device time); "0s" = until the scripts finish
	TimeScale    float64 `json:"time_scale"`          // --time-scale
	Shard        string  `json:"shard"`               // "i/n" of this process's slice; "" in a merged summary
	ScriptSHA256 string  `json:"script_sha256"`       // hex SHA-256 of the script's source
	E2EProbe     string  `json:"e2e_probe,omitempty"` // --e2e-probe's topic filter; "" = none
	// E2ESubscriber is --e2e-subscriber's URL; "" = none (the instances receive).
	E2ESubscriber string `json:"e2e_subscriber,omitempty"`
}

// SlowestKept is the number of instances Summary.Slowest keeps.
const SlowestKept = 20

// Sample is the fleet's progress at one moment: the counts of Progress, T wall seconds after the
// fleet started. Rates are the differences of consecutive samples.
type Sample struct {
	T            float64 `json:"t"`
	Started      int     `json:"started"`
	Connected    int     `json:"connected"`
	Reconnecting int     `json:"reconnecting"`
	Errors       uint64  `json:"errors"`
	Received     uint64  `json:"received"`
	Published    uint64  `json:"published"`
	// The latency percentiles (ms) of the publishes completed with code 0 since the previous
	// sample, and of the end-to-end receipts (with an e2e probe); absent for an interval with
	// none. Merged summaries keep the largest of the shards' (an upper bound).
	PublishP50MS float64 `json:"publish_p50_ms,omitempty"`
	PublishP99MS float64 `json:"publish_p99_ms,omitempty"`
	E2EP50MS     float64 `json:"e2e_p50_ms,omitempty"`
	E2EP99MS     float64 `json:"e2e_p99_ms,omitempty"`
}

// DeviceLatency is one instance's connect latency: wall time from its first connection attempt
// to its first CONNACK.
type DeviceLatency struct {
	ClientID  string  `json:"client_id"`
	LatencyMS float64 `json:"latency_ms"`
}

// mergeSeries adds o's samples to s index by index.
func mergeSeries(s, o []Sample) []Sample {
	for i, x := range o {
		if i == len(s) {
			s = append(s, Sample{T: x.T})
		}
		y := &s[i]
		y.T = max(y.T, x.T)
		y.Started += x.Started
		y.Connected += x.Connected
		y.Reconnecting += x.Reconnecting
		y.Errors += x.Errors
		y.Received += x.Received
		y.Published += x.Published
		y.PublishP50MS, y.PublishP99MS = max(y.PublishP50MS, x.PublishP50MS), max(y.PublishP99MS, x.PublishP99MS)
		y.E2EP50MS, y.E2EP99MS = max(y.E2EP50MS, x.E2EP50MS), max(y.E2EP99MS, x.E2EP99MS)
	}
	return s
}

// mergeSlowest keeps the SlowestKept slowest of a and b, slowest first.
func mergeSlowest(a, b []DeviceLatency) []DeviceLatency {
	all := append(slices.Clone(a), b...)
	slices.SortStableFunc(all, func(x, y DeviceLatency) int { return cmp.Compare(y.LatencyMS, x.LatencyMS) })
	return all[:min(len(all), SlowestKept)]
}

// Percentiles are latency percentiles in milliseconds.
type Percentiles struct {
	P50 float64 `json:"p50"`
	P90 float64 `json:"p90"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

// Histogram counts durations in logarithmic buckets: bucket b holds durations d with
// floor(8·log2(d in µs)) = b (bucket 0 also holds everything under 1 µs), so a bucket is
// 2^(1/8) ≈ 9 % wide. MaxMicros is exact.
type Histogram struct {
	Buckets   map[int]uint64 `json:"buckets"`
	Count     uint64         `json:"count"`
	MaxMicros float64        `json:"max_us"`
}

// Add counts one duration.
func (h *Histogram) Add(d time.Duration) {
	us := float64(d) / float64(time.Microsecond)
	b := 0
	if us > 1 {
		b = int(math.Floor(8 * math.Log2(us)))
	}
	if h.Buckets == nil {
		h.Buckets = map[int]uint64{}
	}
	h.Buckets[b]++
	h.Count++
	h.MaxMicros = max(h.MaxMicros, us)
}

// Since returns the counts of h (a later reading of a histogram that only grows) that were not
// in earlier: the durations added in between. Its maximum is the upper bound of its highest
// bucket, capped at h's.
func (h Histogram) Since(earlier Histogram) Histogram {
	var d Histogram
	top := -1
	for b, n := range h.Buckets {
		if n > earlier.Buckets[b] {
			if d.Buckets == nil {
				d.Buckets = map[int]uint64{}
			}
			d.Buckets[b] = n - earlier.Buckets[b]
			d.Count += d.Buckets[b]
			top = max(top, b)
		}
	}
	if top >= 0 {
		d.MaxMicros = min(math.Exp2(float64(top+1)/8), h.MaxMicros)
	}
	return d
}

// merge adds o's counts to h.
func (h *Histogram) merge(o Histogram) {
	for b, n := range o.Buckets {
		if h.Buckets == nil {
			h.Buckets = map[int]uint64{}
		}
		h.Buckets[b] += n
	}
	h.Count += o.Count
	h.MaxMicros = max(h.MaxMicros, o.MaxMicros)
}

// Quantile returns the upper bound of the bucket holding the q-quantile (0 < q <= 1), capped
// at the exact maximum; 0 for an empty histogram.
func (h Histogram) Quantile(q float64) time.Duration {
	if h.Count == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.Count)))
	rank = max(rank, 1)
	keys := slices.Sorted(func(yield func(int) bool) {
		for b := range h.Buckets {
			if !yield(b) {
				return
			}
		}
	})
	var seen uint64
	for _, b := range keys {
		seen += h.Buckets[b]
		if seen >= rank {
			us := min(math.Exp2(float64(b+1)/8), h.MaxMicros)
			return time.Duration(us * float64(time.Microsecond))
		}
	}
	return time.Duration(h.MaxMicros * float64(time.Microsecond))
}

// Percentiles reads p50, p90, p99 and max of h in milliseconds. Each percentile is capped at
// the reported maximum after the conversion, so p50 <= p90 <= p99 <= max holds exactly (the
// bucket bound and MaxMicros / 1000 could differ in the last bit of a float64).
func (h Histogram) Percentiles() Percentiles {
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	mx := h.MaxMicros / 1000
	return Percentiles{
		P50: min(ms(h.Quantile(0.50)), mx), P90: min(ms(h.Quantile(0.90)), mx),
		P99: min(ms(h.Quantile(0.99)), mx), Max: mx,
	}
}

// percentiles fills ConnectLatencyMS and the rates from the other fields.
func (s *Summary) finish() {
	s.ConnectLatencyMS = s.ConnectLatency.Percentiles()
	if s.Ended == nil {
		s.Ended = []Ended{} // "ended": [] in the JSON, never null
	}
	s.finishLoad()
	if s.ElapsedSeconds > 0 {
		s.PublishesPerSec = float64(s.Published) / s.ElapsedSeconds
		s.MessagesPerSecond = float64(s.Received) / s.ElapsedSeconds
	}
}

// Merge combines the summaries of the shards of one fleet, which ran at the same time (a shard
// may appear in only one of them): counts
// and RSS add up, elapsed and all-connected times are the longest, rates are the total counts
// over the longest elapsed time, and the percentiles are read from the merged histogram.
func Merge(parts ...Summary) (Summary, error) {
	if len(parts) == 0 {
		return Summary{}, errors.New("fleet: nothing to merge")
	}
	m := Summary{Version: SummaryVersion, FleetSize: parts[0].FleetSize, Errors: map[string]uint64{}, Endings: map[string]int{}}
	allConnected := true
	seen := map[string]bool{}
	for _, p := range parts {
		for _, sh := range p.Shards {
			if seen[sh] {
				return Summary{}, fmt.Errorf("fleet: shard %s is in more than one summary", sh)
			}
			seen[sh] = true
		}
		if p.Version != SummaryVersion {
			return Summary{}, fmt.Errorf("fleet: summary version %d, want %d", p.Version, SummaryVersion)
		}
		if p.FleetSize != m.FleetSize {
			return Summary{}, fmt.Errorf("fleet: summaries of fleets of %d and %d instances", m.FleetSize, p.FleetSize)
		}
		m.Instances += p.Instances
		m.Shards = append(m.Shards, p.Shards...)
		m.ElapsedSeconds = max(m.ElapsedSeconds, p.ElapsedSeconds)
		m.Connected += p.Connected
		if p.AllConnectedSeconds == 0 && p.Instances > 0 {
			allConnected = false
		}
		m.AllConnectedSeconds = max(m.AllConnectedSeconds, p.AllConnectedSeconds)
		m.ConnectLatency.merge(p.ConnectLatency)
		m.Published += p.Published
		m.Received += p.Received
		m.Discarded += p.Discarded
		m.Reconnects += p.Reconnects
		m.Dropped += p.Dropped
		for k, v := range p.Errors {
			m.Errors[k] += v
		}
		for k, v := range p.Endings {
			m.Endings[k] += v
		}
		m.Ended = append(m.Ended, p.Ended...)
		m.ScriptErrors += p.ScriptErrors
		if m.FirstScriptError == "" {
			m.FirstScriptError = p.FirstScriptError
		}
		m.RSSBytes += p.RSSBytes
		m.Goroutines += p.Goroutines
		m.PeakRSSBytes += p.PeakRSSBytes
		m.Series = mergeSeries(m.Series, p.Series)
		m.Slowest = mergeSlowest(m.Slowest, p.Slowest)
		m.mergeLoad(p)
		if m.Settings == nil && p.Settings != nil { // the shards' settings differ only in Shard
			st := *p.Settings
			st.Shard = ""
			m.Settings = &st
		}
	}
	if !allConnected {
		m.AllConnectedSeconds = 0
	}
	slices.Sort(m.Shards)
	sortEnded(m.Ended)
	m.finish()
	return m, nil
}

// ReadSummary decodes a summary written by WriteJSON.
func ReadSummary(r io.Reader) (Summary, error) {
	var s Summary
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return Summary{}, fmt.Errorf("fleet: summary: %w", err)
	}
	return s, nil
}

// WriteJSON writes s as indented JSON.
func (s Summary) WriteJSON(w io.Writer) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// WriteText writes s for people.
func (s Summary) WriteText(w io.Writer) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "fleet: %d of %d instances (shards %s) in %.1fs\n", s.Instances, s.FleetSize, strings.Join(s.Shards, ","), s.ElapsedSeconds)
	fmt.Fprintf(&b, "  connected:  %d", s.Connected)
	if s.AllConnectedSeconds > 0 {
		fmt.Fprintf(&b, " (all after %.2fs)", s.AllConnectedSeconds)
	}
	p := s.ConnectLatencyMS
	fmt.Fprintf(&b, "\n  connect latency ms: p50 %.1f  p90 %.1f  p99 %.1f  max %.1f\n", p.P50, p.P90, p.P99, p.Max)
	fmt.Fprintf(&b, "  published:  %d (%.1f/s)   received: %d (%.1f/s)   discarded: %d   dropped: %d   reconnects: %d\n",
		s.Published, s.PublishesPerSec, s.Received, s.MessagesPerSecond, s.Discarded, s.Dropped, s.Reconnects)
	if len(s.Errors) > 0 {
		keys := slices.Sorted(func(yield func(string) bool) {
			for k := range s.Errors {
				if !yield(k) {
					return
				}
			}
		})
		b.WriteString("  errors:    ")
		for _, k := range keys {
			fmt.Fprintf(&b, " %s=%d", k, s.Errors[k])
		}
		b.WriteByte('\n')
	}
	s.writeLoadText(&b)
	if s.RSSBytes > 0 && s.Instances > 0 {
		fmt.Fprintf(&b, "  memory:     %.1f MiB resident, %.1f KiB per instance, %d goroutines",
			float64(s.RSSBytes)/(1<<20), float64(s.RSSBytes)/1024/float64(s.Instances), s.Goroutines)
		if s.PeakRSSBytes > 0 {
			fmt.Fprintf(&b, "; peak %.1f MiB", float64(s.PeakRSSBytes)/(1<<20))
		}
		b.WriteByte('\n')
	}
	if s.ScriptErrors > 0 {
		fmt.Fprintf(&b, "  script errors: %d; first: %s\n", s.ScriptErrors, s.FirstScriptError)
	}
	writeEndedText(&b, s.Ended)
	_, err := w.Write(b.Bytes())
	return err
}

// ReadRSS returns the process's resident memory from /proc/self/status (VmRSS); 0 where that
// file does not exist.
func ReadRSS() uint64 { return readRSSOf("self", "VmRSS:") }

// readPeakRSS returns the process's peak resident memory (VmHWM); 0 where unknown.
func readPeakRSS() uint64 { return readRSSOf("self", "VmHWM:") }

// readRSSOf reads a "kB" field of /proc/<pid>/status in bytes; 0 where unknown.
func readRSSOf(pid, field string) uint64 {
	f, err := os.Open("/proc/" + pid + "/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		v, ok := strings.CutPrefix(sc.Text(), field)
		if !ok {
			continue
		}
		kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			return 0
		}
		return kb * 1024
	}
	return 0
}
