package fleet

import (
	"errors"
	"fmt"
	"hash/maphash"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/devicejs/devicejs/internal/mqttwire"
)

// End-to-end latency (issue 21): with Config.E2EFilter set, the fleet records when each
// publish of its instances whose topic matches the filter was handed to its session (the
// completion's time less its latency) and, when an instance of the fleet receives a message
// with the same topic and payload, the wall time between the two. Matching is by a 64-bit hash
// of topic and payload; the records are bounded (maxE2ERecords, oldest forgotten first).

// maxE2ERecords bounds the publishes remembered for end-to-end matching: 65,536 records of
// about 80 bytes, ~5 MiB whatever the rate. A message received after its publish was forgotten
// is not counted (E2EUnmatched).
const maxE2ERecords = 1 << 16

// maxEarly bounds the receipts of one message kept before its publish's completion is seen
// (a subscriber may get it before the publisher gets its PUBACK: with a wide fan-out, many
// do); more are unmatched.
const maxEarly = 64

// ValidateE2EFilter checks an MQTT topic filter for Config.E2EFilter: not empty, at most
// 65,535 bytes of UTF-8 without NUL, "#" only as the whole last level and "+" only as a whole
// level.
func ValidateE2EFilter(f string) error {
	switch {
	case f == "":
		return errors.New("empty topic filter")
	case len(f) > 65535:
		return errors.New("topic filter longer than 65535 bytes")
	case !utf8.ValidString(f) || strings.ContainsRune(f, 0):
		return fmt.Errorf("topic filter %q is not UTF-8 without NUL", f)
	}
	levels := strings.Split(f, "/")
	for i, l := range levels {
		if strings.Contains(l, "#") && (l != "#" || i != len(levels)-1) {
			return fmt.Errorf("topic filter %q: '#' must be the whole last level", f)
		}
		if strings.Contains(l, "+") && l != "+" {
			return fmt.Errorf("topic filter %q: '+' must be a whole level", f)
		}
	}
	return nil
}

// ValidateProbeURL checks the probe subscriber's broker URL (Config.E2ESubscriberURL):
// mqtt://HOST[:PORT] or mqtts://HOST[:PORT], as a device script would give it.
func ValidateProbeURL(u string) error {
	p, err := url.Parse(u)
	switch {
	case err != nil:
		return fmt.Errorf("%q is not a URL", u)
	case p.Scheme != "mqtt" && p.Scheme != "mqtts":
		return fmt.Errorf("%q: want mqtt:// or mqtts://", u)
	case p.Hostname() == "" || (p.Path != "" && p.Path != "/") || p.RawQuery != "" || p.User != nil:
		return fmt.Errorf("%q: want mqtt[s]://HOST[:PORT] and nothing else", u)
	}
	if port := p.Port(); port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("%q: port %q is not 1 to 65535", u, port)
		}
	}
	return nil
}

// e2eRecord is one publish remembered: when it was sent (0 while only receipts are known) and
// the receipts seen before that.
type e2eRecord struct {
	sent  int64 // wall time, ns since e2eState.base; 0 = not yet known
	early []int64
}

// e2eState matches publishes with their receipts. Only allocated when Config.E2EFilter is set:
// a fleet without it pays one nil check per publish and per message.
type e2eState struct {
	filter string
	seed   maphash.Seed
	base   time.Time

	hist      atomicHist // end-to-end latencies
	mu        sync.Mutex // guards the fields below
	recs      map[uint64]*e2eRecord
	ring      []uint64 // keys in insertion order, for forgetting the oldest
	next      int      // ring index of the next insertion once full
	sent      uint64   // matching publishes completed with code 0
	unmatched uint64   // matching messages received whose publish was not (or no longer) known
	early     uint64   // receipts waiting in records for their publish (unmatched if it never comes)
}

func newE2E(filter string) *e2eState {
	return &e2eState{filter: filter, seed: maphash.MakeSeed(), base: time.Now(), recs: map[uint64]*e2eRecord{}}
}

func (e *e2eState) key(topic string, payload []byte) uint64 {
	var h maphash.Hash
	h.SetSeed(e.seed)
	h.WriteString(topic)
	h.WriteByte(0)
	h.Write(payload)
	return h.Sum64()
}

// recordLocked returns the record of k, making one (and forgetting the oldest when full).
func (e *e2eState) recordLocked(k uint64) *e2eRecord {
	if r, ok := e.recs[k]; ok {
		return r
	}
	r := &e2eRecord{}
	if len(e.ring) < maxE2ERecords {
		e.ring = append(e.ring, k)
	} else {
		if old := e.recs[e.ring[e.next]]; old != nil && old.sent == 0 {
			e.unmatched += uint64(len(old.early)) // receipts whose publish was never seen
			e.early -= uint64(len(old.early))
		}
		delete(e.recs, e.ring[e.next])
		e.ring[e.next] = k
		e.next = (e.next + 1) % maxE2ERecords
	}
	e.recs[k] = r
	return r
}

// published records a matching publish completed with code 0 at now, latency after it was
// handed to its session; receipts seen before it are counted now.
func (e *e2eState) published(topic string, payload []byte, now time.Time, latency time.Duration) {
	if !mqttwire.TopicMatch(e.filter, topic) {
		return
	}
	sent := int64(now.Sub(e.base) - latency)
	sent = max(sent, 1)
	k := e.key(topic, payload)
	e.mu.Lock()
	e.sent++
	r := e.recordLocked(k)
	r.sent = sent
	early := r.early
	r.early = nil
	e.early -= uint64(len(early))
	e.mu.Unlock()
	for _, at := range early {
		e.add(time.Duration(max(at-sent, 0)))
	}
}

// received counts a message delivered to an instance at now.
func (e *e2eState) received(topic string, payload []byte, now time.Time) {
	if !mqttwire.TopicMatch(e.filter, topic) {
		return
	}
	at := int64(now.Sub(e.base))
	k := e.key(topic, payload)
	e.mu.Lock()
	r, ok := e.recs[k]
	if ok && r.sent > 0 {
		sent := r.sent
		e.mu.Unlock()
		e.add(time.Duration(max(at-sent, 0)))
		return
	}
	if !ok {
		r = e.recordLocked(k)
	}
	if len(r.early) < maxEarly {
		r.early = append(r.early, at)
		e.early++
	} else {
		e.unmatched++
	}
	e.mu.Unlock()
}

func (e *e2eState) add(d time.Duration) { e.hist.add(d) }

// figures fills s's end-to-end fields; receipts still waiting for their publish are
// unmatched.
func (e *e2eState) figures(ld *Load) {
	e.mu.Lock()
	unmatched, sent := e.unmatched+e.early, e.sent
	e.mu.Unlock()
	h := e.hist.snapshot()
	ld.E2E = &E2E{Filter: e.filter, Sent: sent, Unmatched: unmatched, Latency: h}
}

// E2E are the end-to-end figures of a run with an end-to-end probe (`--e2e-probe FILTER`):
// messages the fleet's instances received that one of its instances published.
type E2E struct {
	Filter string `json:"filter"` // the topic filter of the publishes followed
	// Sent counts the publishes matching Filter completed with code 0 (each one remembered,
	// within maxE2ERecords).
	Sent uint64 `json:"sent"`
	// Unmatched counts messages matching Filter received whose publish was not seen, or was
	// forgotten (more than 65,536 publishes later), or was not completed by the end.
	Unmatched uint64 `json:"unmatched"`
	// LatencyMS are the percentiles of Latency in ms (filled by finish).
	LatencyMS Percentiles `json:"latency_ms"`
	// Latency is the histogram of the wall time from a publish being handed to its session to
	// its delivery to a receiving instance (one sample per receipt: a message delivered to
	// five instances counts five).
	Latency Histogram `json:"latency_histogram"`
}

// mergeE2E adds o to s.
func (s *Summary) mergeE2E(o *E2E) {
	if o == nil {
		return
	}
	if s.E2E == nil {
		s.E2E = &E2E{Filter: o.Filter}
	}
	s.E2E.Sent += o.Sent
	s.E2E.Unmatched += o.Unmatched
	s.E2E.Latency.merge(o.Latency)
}
