package report

import (
	"cmp"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/devicejs/devicejs/fleet"
	"github.com/devicejs/devicejs/mqttcore"
)

// FleetRecorder records what a fleet report shows beyond the fleet's summary: a time series of
// the fleet's progress (sampled every interval) and, from the instances' trace events, each
// instance's connect latency (wall time from its first connection attempt to its first
// CONNACK) and errors by code, counted as the fleet's summary counts them (a publish that
// fails because its session ended is in flight at the end, not an error). Safe for concurrent use; Trace must be cheap, as the sessions
// call it on every action.
type FleetRecorder struct {
	progress func() fleet.Progress
	load     func() fleet.Load // SetLoad; nil = no latency in the samples
	start    time.Time
	stop     chan struct{}
	stopped  chan struct{}
	once     sync.Once

	mu      sync.Mutex
	series  []fleet.Sample
	attempt map[string]time.Time // first connection attempt, by clientId
	latency map[string]float64   // first connect latency in ms, by clientId
	hist    fleet.Histogram
	errors  map[string]uint64
	// ended holds the clientIds whose session has ended (TraceEnd) and not connected since: a
	// publish completed with an error then was in flight at the end, not an error (as the
	// fleet's summary counts it).
	ended       map[string]bool
	pubErrors   uint64          // publishes completed with an error while their session was live
	inFlightEnd uint64          // publishes completed with an error after their session ended
	lastLoad    *fleet.Load     // the latest reading of load (SetLoad)
	lastPub     fleet.Histogram // its publish latency ("all"), for the next interval's
	lastE2E     fleet.Histogram // its end-to-end latency
	lastNew     time.Time       // the latest first CONNACK of an instance: all had connected then, once len(latency) is n
}

// NewFleetRecorder returns a recorder whose Trace hook may be installed before the fleet exists;
// Start begins the sampling.
func NewFleetRecorder() *FleetRecorder {
	return &FleetRecorder{
		start: time.Now(), stop: make(chan struct{}), stopped: make(chan struct{}),
		attempt: map[string]time.Time{}, latency: map[string]float64{}, errors: map[string]uint64{}, ended: map[string]bool{},
	}
}

// SetLoad makes every sample read load (a fleet's LoadSnapshot method) too: the percentiles
// of the publish (and end-to-end) latencies of the interval since the previous sample, and the
// live view's load figures. Call it before Start.
func (r *FleetRecorder) SetLoad(load func() fleet.Load) {
	r.mu.Lock()
	r.load = load
	r.mu.Unlock()
}

// Start samples progress (a fleet's Progress method) now and then every interval, until Stop.
// Call it once.
func (r *FleetRecorder) Start(progress func() fleet.Progress, interval time.Duration) {
	r.mu.Lock()
	r.progress, r.start = progress, time.Now()
	r.mu.Unlock()
	r.sample()
	go func() {
		defer close(r.stopped)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-r.stop:
				return
			case <-t.C:
				r.sample()
			}
		}
	}()
}

func (r *FleetRecorder) sample() {
	r.mu.Lock()
	progress, start, load := r.progress, r.start, r.load
	r.mu.Unlock()
	p := progress()
	s := fleet.Sample{T: time.Since(start).Seconds(), Started: p.Started, Connected: p.Connected,
		Reconnecting: p.Reconnecting, Errors: p.Errors, Received: p.Received, Published: p.Published}
	var ld fleet.Load
	if load != nil {
		ld = load()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if load != nil {
		pub := ld.PublishLatency["all"]
		if d := pub.Since(r.lastPub); d.Count > 0 {
			pc := d.Percentiles()
			s.PublishP50MS, s.PublishP99MS = pc.P50, pc.P99
		}
		var e2e fleet.Histogram
		if ld.E2E != nil {
			e2e = ld.E2E.Latency
		}
		if d := e2e.Since(r.lastE2E); d.Count > 0 {
			pc := d.Percentiles()
			s.E2EP50MS, s.E2EP99MS = pc.P50, pc.P99
		}
		r.lastPub, r.lastE2E, r.lastLoad = pub, e2e, &ld
	}
	r.series = append(r.series, s)
}

// Stop takes a last sample and stops sampling. Later calls, and a call without Start, do
// nothing.
func (r *FleetRecorder) Stop() {
	r.mu.Lock()
	started := r.progress != nil
	r.mu.Unlock()
	if !started {
		return
	}
	r.once.Do(func() {
		close(r.stop)
		<-r.stopped
		r.sample()
	})
}

// Trace is the fleet's devicejs.Config.Trace hook.
func (r *FleetRecorder) Trace(e mqttcore.TraceEvent) {
	switch e.Kind {
	case mqttcore.TraceConnectAttempt:
		now := time.Now()
		r.mu.Lock()
		if _, ok := r.attempt[e.ClientID]; !ok {
			r.attempt[e.ClientID] = now
		}
		r.mu.Unlock()
	case mqttcore.TraceConnack:
		now := time.Now()
		r.mu.Lock()
		delete(r.ended, e.ClientID) // a new session of the same clientId
		if at, ok := r.attempt[e.ClientID]; ok {
			if _, done := r.latency[e.ClientID]; !done {
				d := now.Sub(at)
				r.latency[e.ClientID] = float64(d) / float64(time.Millisecond)
				r.hist.Add(d)
				r.lastNew = now
			}
		}
		r.mu.Unlock()
	case mqttcore.TracePublishDone:
		if e.Code != 0 {
			r.mu.Lock()
			if r.ended[e.ClientID] {
				r.inFlightEnd++
			} else {
				r.pubErrors++
				r.errors["publish:"+strconv.Itoa(int(e.Code))]++
			}
			r.mu.Unlock()
		}
	case mqttcore.TraceEnd:
		r.mu.Lock()
		r.ended[e.ClientID] = true
		r.mu.Unlock()
	case mqttcore.TraceError:
		r.countError("error:" + strconv.Itoa(int(e.Code)))
	}
}

func (r *FleetRecorder) countError(key string) {
	r.mu.Lock()
	r.errors[key]++
	r.mu.Unlock()
}

// Fill adds the recorded series and slowest instances to a fleet's final summary.
func (r *FleetRecorder) Fill(s *fleet.Summary) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s.Series = slices.Clone(r.series)
	s.Slowest = r.slowestLocked()
}

// Snapshot is the summary so far of a running fleet of n instances (for the live view): counts
// from the latest sample, latencies and errors from the trace events.
func (r *FleetRecorder) Snapshot(fleetSize, n int) fleet.Summary {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := fleet.Summary{
		Version: fleet.SummaryVersion, FleetSize: fleetSize, Instances: n,
		ElapsedSeconds: time.Since(r.start).Seconds(), Connected: len(r.latency),
		ConnectLatency: cloneHistogram(r.hist), Errors: map[string]uint64{},
		Series: slices.Clone(r.series), Slowest: r.slowestLocked(),
	}
	for k, v := range r.errors {
		s.Errors[k] = v
	}
	s.PublishErrors, s.InFlightAtEnd = r.pubErrors, r.inFlightEnd
	if r.lastLoad != nil { // the fleet's own figures, as of the latest sample
		s.Load = *r.lastLoad
	}
	if k := len(r.series); k > 0 {
		last := r.series[k-1]
		s.Published, s.Received = last.Published, last.Received
	}
	s.ConnectLatencyMS = s.ConnectLatency.Percentiles()
	if n > 0 && len(r.latency) >= n {
		// All had connected once (the live page's "all after"; it stayed 0 before).
		s.AllConnectedSeconds = max(r.lastNew.Sub(r.start).Seconds(), 1e-6)
	}
	if s.ElapsedSeconds > 0 {
		s.PublishesPerSec = float64(s.Published) / s.ElapsedSeconds
		s.MessagesPerSecond = float64(s.Received) / s.ElapsedSeconds
	}
	return s
}

func (r *FleetRecorder) slowestLocked() []fleet.DeviceLatency {
	all := make([]fleet.DeviceLatency, 0, len(r.latency))
	for id, l := range r.latency {
		all = append(all, fleet.DeviceLatency{ClientID: id, LatencyMS: l})
	}
	slices.SortFunc(all, func(a, b fleet.DeviceLatency) int {
		if c := cmp.Compare(b.LatencyMS, a.LatencyMS); c != 0 {
			return c
		}
		return cmp.Compare(a.ClientID, b.ClientID)
	})
	return all[:min(len(all), fleet.SlowestKept)]
}

func cloneHistogram(h fleet.Histogram) fleet.Histogram {
	c := h
	c.Buckets = make(map[int]uint64, len(h.Buckets))
	for b, n := range h.Buckets {
		c.Buckets[b] = n
	}
	return c
}
