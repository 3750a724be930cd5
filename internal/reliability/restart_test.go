package reliability

import (
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/devicejs/devicejs/mqttcore"
	"github.com/devicejs/devicejs/runtime"
)

// restarts is the number of broker restarts of TestQoS1AcrossBrokerRestarts (issue 6 item 1).
const restarts = 20

// TestQoS1AcrossBrokerRestarts publishes numbered QoS 1 messages, one at a time, while the
// broker is restarted 20 times under the device. Every publish that completed with 0 must
// have reached an independent subscriber; every other publish must have got a non-zero code
// (a refusal or a completion). Figures: silent losses, duplicates, recovery time.
func TestQoS1AcrossBrokerRestarts(t *testing.T) {
	forEachBroker(t, func(t *testing.T, bk brokerKind) {
		b := bk.start(t)
		pr := newPeer(t, b.Addr(), "rel/restart", 1)
		o := deviceOptions()
		o.ReconnectPeriod = time.Second // device time: 50 ms of wall time at scale 20
		d := startDevice(t, b.URL(), o, mqttcore.HostConfig{Clock: runtime.NewScaledClock(20)}, mqttcore.TLSSettings{})
		d.waitEvent("connect", wait)

		var (
			ready    atomic.Bool // the peer is subscribed on the running broker
			stop     atomic.Bool
			mu       sync.Mutex
			codes    []mqttcore.Code // outcome of publish i
			accepted []bool
			okAt     []time.Time // completion time of each publish that completed with 0
		)
		ready.Store(true)
		pubDone := make(chan struct{})
		go func() {
			defer close(pubDone)
			for i := 0; !stop.Load(); {
				if !ready.Load() || !d.s.CanPublish() {
					time.Sleep(time.Millisecond)
					continue
				}
				c, acc := d.publish("rel/restart", []byte(strconv.Itoa(i)), 1)
				mu.Lock()
				codes = append(codes, c)
				accepted = append(accepted, acc)
				if c == 0 && acc {
					okAt = append(okAt, time.Now())
				}
				mu.Unlock()
				i++
			}
		}()
		okCount := func() int { mu.Lock(); defer mu.Unlock(); return len(okAt) }
		lastOK := func() time.Time { mu.Lock(); defer mu.Unlock(); return okAt[len(okAt)-1] }

		var recovery []time.Duration
		for r := range restarts {
			n := okCount()
			waitFor(t, wait, "publishes before the restart", func() bool { return okCount() >= n+5 })
			b.Stop()
			ready.Store(false)
			b.Restart()
			pr.subscribe()
			up := time.Now()
			n = okCount()
			ready.Store(true)
			waitFor(t, wait, "a publish after restart "+strconv.Itoa(r+1), func() bool { return okCount() > n })
			recovery = append(recovery, lastOK().Sub(up))
		}
		stop.Store(true)
		<-pubDone

		mu.Lock()
		defer mu.Unlock()
		// Deliveries may trail the PUBACK a little.
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) && !func() bool {
			for i, c := range codes {
				if c == 0 && accepted[i] && pr.count(strconv.Itoa(i)) == 0 {
					return false
				}
			}
			return true
		}() {
			time.Sleep(5 * time.Millisecond)
		}
		var ok, failed, refused, losses, dups, unackedSeen int
		for i, c := range codes {
			n := pr.count(strconv.Itoa(i))
			switch {
			case !accepted[i]:
				refused++
				if c == 0 {
					t.Errorf("publish %d refused with code 0", i)
				}
			case c == 0:
				ok++
				if n == 0 {
					losses++
					t.Errorf("publish %d completed with 0 but the peer never saw it (next: %v %v, prev: %v)", i, at(codes, i+1), at(accepted, i+1), at(codes, i-1))
				}
			default:
				failed++
				if n > 0 {
					unackedSeen++
				}
			}
			if n > 1 {
				dups++
			}
		}
		var maxRec, sum time.Duration
		for _, r := range recovery {
			sum += r
			maxRec = max(maxRec, r)
		}
		figure(t, "restarts", bk.name, "%d restarts, %d publishes: %d ok, %d failed (%d of them delivered anyway), %d refused; silent losses %d, duplicates %d; recovery mean %v max %v",
			restarts, len(codes), ok, failed, unackedSeen, refused, losses, dups,
			(sum / time.Duration(len(recovery))).Round(time.Millisecond), maxRec.Round(time.Millisecond))
		if failed+refused == 0 {
			t.Log("note: no publish was cut by a restart this run")
		}
	})
}

func at[T any](s []T, i int) any {
	if i < 0 || i >= len(s) {
		return "none"
	}
	return s[i]
}
