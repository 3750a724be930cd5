package fleet

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"sync/atomic"
	"time"
)

// Load holds the figures of a fleet as a load test (issue 21): publish-to-acknowledgement
// latency per QoS, the exact fate of every publish, the reconnection storms and the thresholds.
// It is embedded in Summary, so its fields are top-level fields of the summary JSON; every one
// is described in docs/fleet.md.
type Load struct {
	// PublishAttempts counts the publishes the sessions accepted (mqtt.publish returned no
	// error). Each one is in exactly one of Published, PublishErrors and InFlightAtEnd.
	PublishAttempts uint64 `json:"publish_attempts"`
	// PublishErrors counts publishes completed with a non-zero code while their session was
	// live (the "publish:<code>" entries of Errors).
	PublishErrors uint64 `json:"publish_errors"`
	// InFlightAtEnd counts publishes still awaiting completion when their session ended (the
	// run's end: --for, --timeout, a signal; or the script's client.end()): not errors.
	InFlightAtEnd uint64 `json:"in_flight_at_end"`
	// PublishLatencyMS are percentiles of the wall time from a publish being handed to its
	// session to its completion with code 0 (QoS 0: in the send buffer; 1: PUBACK; 2: PUBCOMP),
	// in ms, by "qos0", "qos1", "qos2" (those with publishes) and "all".
	PublishLatencyMS map[string]Percentiles `json:"publish_latency_ms"`
	// PublishLatency are the histograms they are read from (same keys).
	PublishLatency map[string]Histogram `json:"publish_latency_histograms"`
	// ConnectionsLost counts open connections lost (not ended by the session's end).
	ConnectionsLost uint64 `json:"connections_lost"`
	// Storms are the fleet's outages, in order: each from the first connection lost while none
	// was down to the moment every instance that lost its connection had reconnected.
	Storms []Storm `json:"storms"`
	// E2E are the end-to-end latency figures of a run with Config.E2EFilter (`--e2e-probe`);
	// absent otherwise.
	E2E *E2E `json:"e2e,omitempty"`
	// Thresholds are the --threshold results, in the order given; absent without any.
	Thresholds []ThresholdResult `json:"thresholds,omitempty"`
}

// Storm is one outage of the fleet's connections (a broker restart, a network cut): from the
// first connection lost while every instance was up to the moment all had reconnected.
type Storm struct {
	StartSeconds    float64 `json:"start_seconds"`    // wall time from the fleet's start to the first loss
	ConnectionsLost uint64  `json:"connections_lost"` // connections lost during the storm
	// RecoverySeconds is the wall time from the first loss to the last reconnection; 0 when
	// Recovered is false.
	RecoverySeconds float64 `json:"recovery_seconds"`
	Recovered       bool    `json:"recovered"`  // every instance that lost its connection reconnected
	StillDown       int     `json:"still_down"` // instances not reconnected when the run ended
	// PublishesFailed counts the publishes that failed because of the storm (completed with a
	// non-zero code by the loss of their connection); PublishesRetried those of them that the
	// scripts published again (an instance's next publish had the same topic).
	PublishesFailed  uint64 `json:"publishes_failed"`
	PublishesRetried uint64 `json:"publishes_retried"`
}

// qosKeys are the keys of the per-QoS latency maps.
var qosKeys = [3]string{"qos0", "qos1", "qos2"}

// latencyAll is the key of the latency of every QoS together.
const latencyAll = "all"

// histBuckets bounds the buckets of an atomicHist: 2^(320/8) µs is 12 days.
const histBuckets = 320

// atomicHist is a Histogram that many goroutines add to without locks or allocation.
type atomicHist struct {
	b     [histBuckets]atomic.Uint64
	n     atomic.Uint64
	maxNS atomic.Int64
}

// add counts d in Histogram's bucket (floor(8·log2(µs)), 0 below 1 µs).
func (h *atomicHist) add(d time.Duration) {
	us := float64(d) / float64(time.Microsecond)
	b := 0
	if us > 1 {
		b = min(int(math.Floor(8*math.Log2(us))), histBuckets-1)
	}
	h.b[b].Add(1)
	h.n.Add(1)
	for {
		m := h.maxNS.Load()
		if int64(d) <= m || h.maxNS.CompareAndSwap(m, int64(d)) {
			return
		}
	}
}

// snapshot returns the counts as a Histogram.
func (h *atomicHist) snapshot() Histogram {
	var s Histogram
	for i := range h.b {
		if n := h.b[i].Load(); n > 0 {
			if s.Buckets == nil {
				s.Buckets = map[int]uint64{}
			}
			s.Buckets[i] = n
			s.Count += n
		}
	}
	s.MaxMicros = float64(h.maxNS.Load()) / float64(time.Microsecond)
	return s
}

// loadState is what a running Fleet keeps for Load: atomic counters on the publish path, the
// storms under Fleet.mu (connection losses are rare).
type loadState struct {
	attempts, pubErrors, inFlightEnd atomic.Uint64
	lat                              [3]atomicHist

	// Guarded by Fleet.mu.
	lost      uint64
	storms    []Storm
	stormOpen bool
	down      int           // instances lost and not reconnected in the open storm
	stormAt   time.Duration // the open storm's start, from the fleet's start
}

// latency records a publish completed with code 0.
func (l *loadState) latency(qos byte, d time.Duration) {
	if qos < 3 && d > 0 {
		l.lat[qos].add(d)
	}
}

// lostLocked records the loss of an instance's open connection, sinceStart after the fleet's
// start, with failed publishes that the loss completed; it returns the storm's index.
func (l *loadState) lostLocked(sinceStart time.Duration, failed uint64) int {
	if !l.stormOpen {
		l.stormOpen, l.stormAt, l.down = true, sinceStart, 0
		l.storms = append(l.storms, Storm{StartSeconds: sinceStart.Seconds()})
	}
	st := &l.storms[len(l.storms)-1]
	st.ConnectionsLost++
	st.PublishesFailed += failed
	l.lost++
	l.down++
	return len(l.storms) - 1
}

// backLocked records the reconnection of an instance lost in the open storm.
func (l *loadState) backLocked(sinceStart time.Duration) {
	if !l.stormOpen {
		return
	}
	l.down--
	if l.down <= 0 {
		st := &l.storms[len(l.storms)-1]
		st.Recovered, st.RecoverySeconds = true, (sinceStart - l.stormAt).Seconds()
		l.stormOpen = false
	}
}

// retriedLocked counts a failed publish of storm i published again.
func (l *loadState) retriedLocked(i int) {
	if i >= 0 && i < len(l.storms) {
		l.storms[i].PublishesRetried++
	}
}

// figuresLocked returns the Load of the run so far.
func (l *loadState) figuresLocked() Load {
	ld := Load{
		PublishAttempts: l.attempts.Load(), PublishErrors: l.pubErrors.Load(), InFlightAtEnd: l.inFlightEnd.Load(),
		PublishLatency: map[string]Histogram{}, ConnectionsLost: l.lost, Storms: slices.Clone(l.storms),
	}
	for q := range l.lat {
		if h := l.lat[q].snapshot(); h.Count > 0 {
			ld.PublishLatency[qosKeys[q]] = h
		}
	}
	if l.stormOpen && len(ld.Storms) > 0 {
		ld.Storms[len(ld.Storms)-1].StillDown = l.down
	}
	return ld
}

// finishLoad fills the percentiles and the "all" histogram from the per-QoS histograms.
func (s *Summary) finishLoad() {
	if s.PublishLatency == nil {
		s.PublishLatency = map[string]Histogram{}
	}
	var all Histogram
	for _, k := range qosKeys {
		if h, ok := s.PublishLatency[k]; ok {
			all.merge(h)
		}
	}
	s.PublishLatency[latencyAll] = all
	s.PublishLatencyMS = map[string]Percentiles{}
	for k, h := range s.PublishLatency {
		s.PublishLatencyMS[k] = h.Percentiles()
	}
	if s.Storms == nil {
		s.Storms = []Storm{}
	}
	if s.E2E != nil {
		s.E2E.LatencyMS = s.E2E.Latency.Percentiles()
	}
}

// mergeLoad adds o's load figures to s. Storms are merged index by index, as Series are: the
// shards ran at the same time, so their i-th storms are the same outage seen by each; the
// merged storm starts at the earliest start and recovers at the latest recovery (each shard
// counts from its own start), and is recovered when it is in every shard that saw it.
func (s *Summary) mergeLoad(o Summary) {
	s.PublishAttempts += o.PublishAttempts
	s.PublishErrors += o.PublishErrors
	s.InFlightAtEnd += o.InFlightAtEnd
	s.ConnectionsLost += o.ConnectionsLost
	s.mergeE2E(o.E2E)
	for k, h := range o.PublishLatency {
		if k == latencyAll {
			continue // rebuilt from the per-QoS histograms by finishLoad
		}
		if s.PublishLatency == nil {
			s.PublishLatency = map[string]Histogram{}
		}
		m := s.PublishLatency[k]
		m.merge(h)
		s.PublishLatency[k] = m
	}
	for i, x := range o.Storms {
		if i == len(s.Storms) {
			s.Storms = append(s.Storms, Storm{StartSeconds: x.StartSeconds, Recovered: true})
		}
		y := &s.Storms[i]
		end := max(y.StartSeconds+y.RecoverySeconds, x.StartSeconds+x.RecoverySeconds)
		y.StartSeconds = min(y.StartSeconds, x.StartSeconds)
		y.ConnectionsLost += x.ConnectionsLost
		y.Recovered = y.Recovered && x.Recovered
		y.RecoverySeconds = end - y.StartSeconds
		if !y.Recovered {
			y.RecoverySeconds = 0
		}
		y.StillDown += x.StillDown
		y.PublishesFailed += x.PublishesFailed
		y.PublishesRetried += x.PublishesRetried
	}
}

// writeLoadText writes the load figures of WriteText.
func (s Summary) writeLoadText(b *bytes.Buffer) {
	if s.PublishAttempts > 0 {
		fmt.Fprintf(b, "  publishes:  %d accepted = %d completed + %d failed + %d in flight at the end\n",
			s.PublishAttempts, s.PublishAttempts-s.PublishErrors-s.InFlightAtEnd, s.PublishErrors, s.InFlightAtEnd)
	}
	for _, k := range append(qosKeys[:], latencyAll) {
		h, ok := s.PublishLatency[k]
		if !ok || h.Count == 0 || (k == latencyAll && h.Count == s.PublishLatency[firstQoS(s.PublishLatency)].Count) {
			continue // "all" only when it differs from the one QoS used
		}
		p := s.PublishLatencyMS[k]
		fmt.Fprintf(b, "  publish latency ms %s: p50 %.1f  p90 %.1f  p99 %.1f  max %.1f  (%d)\n", k, p.P50, p.P90, p.P99, p.Max, h.Count)
	}
	if e := s.E2E; e != nil {
		p := e.LatencyMS
		fmt.Fprintf(b, "  end-to-end latency ms (%s): p50 %.1f  p90 %.1f  p99 %.1f  max %.1f  (%d received of %d sent; %d unmatched)\n",
			e.Filter, p.P50, p.P90, p.P99, p.Max, e.Latency.Count, e.Sent, e.Unmatched)
	}
	if s.ConnectionsLost > 0 {
		fmt.Fprintf(b, "  connections lost: %d, in %d storm(s)\n", s.ConnectionsLost, len(s.Storms))
		for i, st := range s.Storms {
			back := fmt.Sprintf("all back after %.2fs", st.RecoverySeconds)
			if !st.Recovered {
				back = fmt.Sprintf("%d still down at the end", st.StillDown)
			}
			fmt.Fprintf(b, "    storm %d at %.1fs: %d lost, %s; publishes failed %d, retried %d\n",
				i+1, st.StartSeconds, st.ConnectionsLost, back, st.PublishesFailed, st.PublishesRetried)
		}
	}
	writeThresholdsText(b, s.Thresholds)
}

// firstQoS is the key of the first per-QoS histogram in m, "" if none.
func firstQoS(m map[string]Histogram) string {
	for _, k := range qosKeys {
		if m[k].Count > 0 {
			return k
		}
	}
	return ""
}
