package reliability

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/devicejs/devicejs/bindings"
	"github.com/devicejs/devicejs/internal/syncbuf"
	"github.com/devicejs/devicejs/internal/testbroker"
	"github.com/devicejs/devicejs/mqttcore"
	"github.com/devicejs/devicejs/runtime"
)

// stepClock drives a runtime.ManualClock in 10 ms device steps every 200 µs of wall time
// until the test ends, so that device-time measurements are exact to a step or two.
func stepClock(t *testing.T) *runtime.ManualClock {
	c := runtime.NewManualClock(time.Unix(1_700_000_000, 0))
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			case <-time.After(200 * time.Microsecond):
				c.Advance(10 * time.Millisecond)
			}
		}
	}()
	t.Cleanup(func() { close(stop); <-done })
	return c
}

// TestReconnectTiming (issue 6 item 5): against a refusing endpoint, automatic attempts are
// spaced reconnectPeriod apart (never 10% early; the median within ±10%, device time), exactly reconnectCount of them happen and
// then error 1; reconnectCount 1855 keeps going (50 attempts checked).
func TestReconnectTiming(t *testing.T) {
	const period = time.Second
	for _, tc := range []struct {
		name     string
		count    int
		attempts int // reconnect events to observe
	}{{"count 5", 5, 5}, {"count 1855", mqttcore.ReconnectForever, 50}} {
		t.Run(tc.name, func(t *testing.T) {
			px := newProxy(t, "127.0.0.1:1")
			px.Refuse(true)
			clk := stepClock(t)
			var mu sync.Mutex
			var at []time.Time
			h := mqttcore.NewHost(mqttcore.HostConfig{Clock: clk})
			o := deviceOptions()
			o.ReconnectCount, o.ReconnectPeriod = tc.count, period
			evs := make(chan string, 1000)
			s, err := h.Connect("mqtt://"+px.Addr(), o, mqttcore.TLSSettings{}, mqttcore.Events{
				Reconnect: func() { mu.Lock(); at = append(at, clk.Now()); mu.Unlock(); evs <- "reconnect" },
				Error:     func(c mqttcore.Code) { evs <- fmt.Sprintf("error %d", c) },
				Connect:   func(mqttcore.Connack) { evs <- "connect" },
			})
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				rel := make(chan struct{})
				s.End(func() { close(rel) })
				<-rel
			}()
			for i := 0; i < tc.attempts; i++ {
				select {
				case e := <-evs:
					if e != "reconnect" {
						t.Fatalf("event %d: %s, want reconnect", i, e)
					}
				case <-time.After(wait):
					t.Fatalf("only %d reconnect events", i)
				}
			}
			if tc.count != mqttcore.ReconnectForever {
				select {
				case e := <-evs:
					if e != "error 1" {
						t.Fatalf("after %d attempts: %s, want error 1", tc.attempts, e)
					}
				case <-time.After(wait):
					t.Fatal("no error event after the last attempt")
				}
				// Nothing more: wait 3 periods of device time.
				end := clk.Now().Add(3 * period)
				testbroker.WaitFor(t, wait, "3 periods of device time", func() bool { return clk.Now().After(end) })
				if len(evs) > 0 {
					t.Fatalf("event after error: %s", <-evs)
				}
				if n := px.Accepted(); n != tc.count+1 {
					t.Fatalf("%d connection attempts, want %d", n, tc.count+1)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			// Never early: each attempt at least 0.9 period after the previous one. The test's
			// device clock runs free (10 ms every 200 µs of wall time, 50x), so an attempt the
			// loaded machine delays by 3 ms of wall time comes 150 ms of device time late: late
			// ones are allowed up to 1.5 periods each, and the median must be within 10%.
			lo, hi := time.Hour, time.Duration(0)
			var gaps []time.Duration
			for i := 1; i < len(at); i++ {
				d := at[i].Sub(at[i-1])
				lo, hi = min(lo, d), max(hi, d)
				gaps = append(gaps, d)
				if d < period*9/10 || d > period*3/2 {
					t.Errorf("attempt %d came %v after the previous one, want %v (at least -10%%, at most +50%% under load)", i+1, d, period)
				}
			}
			slices.Sort(gaps)
			if len(gaps) > 0 {
				if med := gaps[len(gaps)/2]; med < period*9/10 || med > period*11/10 {
					t.Errorf("median spacing %v, want %v ±10%%", med, period)
				}
			}
			figure(t, "reconnect-timing", "none (refusing endpoint)", "reconnectCount %d: %d attempts, spacing %v..%v (period %v, device time)", tc.count, len(at), lo, hi, period)
		})
	}
}

// runScript runs src on a runtime loop with the bindings, a scaled clock and routing to
// addr, until it ends or limit passes, and returns its output.
func runScript(t *testing.T, src string, scale float64, limit time.Duration, hc mqttcore.HostConfig) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	var out syncbuf.Buffer
	rec := newFlightRecorder(hc.Trace)
	hc.Trace = rec.record
	l := runtime.New(runtime.Options{Stdout: &out, Clock: runtime.NewScaledClock(scale)})
	cfg := bindings.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	// Dump what the sessions were doing just before the limit, while they still are.
	dumped := make(chan struct{})
	dump := time.AfterFunc(limit-limit/20, func() {
		defer close(dumped)
		rec.logNow(t, "the script is about to hit its time limit")
	})
	err := l.Run(ctx, "test.js", src, func(l *runtime.Loop) error {
		return bindings.Register(l, bindings.NewHost(l, hc), cfg)
	})
	if !dump.Stop() {
		<-dumped
	}
	return out.String(), err
}

// TestNoReconnectStorm (issue 6 item 5): a script calling reconnect() from its close, error
// and reconnect handlers (twice in some) makes at most one attempt per reconnectPeriod.
func TestNoReconnectStorm(t *testing.T) {
	forEachBroker(t, func(t *testing.T, bk brokerKind) {
		b := bk.start(t)
		px := newProxy(t, b.Addr())
		src := strings.ReplaceAll(`
var c = mqtt.connect('mqtt://PROXY', {reconnectPeriod: 1000});
var connects = 0;
c.on('connect', function() { connects++; print('connect'); c.reconnect(); c.reconnect(); });
c.on('close', function() { c.reconnect(); c.reconnect(); });
c.on('error', function() { c.reconnect(); c.reconnect(); });
c.on('reconnect', function() { c.reconnect(); });
setTimeout(function() { print('connects ' + connects); c.end(); }, 20000);
`, "PROXY", px.Addr())
		// 20 s of device time at scale 20: 1 s of wall time, a period 50 ms. At scale 50 (20 ms
		// periods) a loaded machine made only 3 attempts in all (2026-12-05), under the 5 below.
		out, err := runScript(t, src, 20, wait, mqttcore.HostConfig{})
		if err != nil {
			t.Fatalf("run: %v\n%s", err, out)
		}
		n := px.Accepted()
		// One attempt per period at most: 20 periods plus the first connection.
		if n > 21 || n < 5 {
			t.Fatalf("%d connection attempts in 20 reconnect periods\n%s", n, out)
		}
		figure(t, "reconnect-storm", bk.name, "reconnect() from connect/close/error/reconnect handlers: %d connections in 20 periods (max 21)", n)
	})
}
