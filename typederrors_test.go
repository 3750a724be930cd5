package devicejs_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/eclipse/paho.mqtt.golang/packets"

	"github.com/devicejs/devicejs"
	"github.com/devicejs/devicejs/broker"
	"github.com/devicejs/devicejs/internal/testbroker"
	"github.com/devicejs/devicejs/mqttcore"
)

// TestConfigErrorsTyped: every Config New refuses gives a *ConfigError naming the field, and
// errors.Is(err, ErrInvalidConfig); Run returns it with a NotStarted Result. Negative and absurd
// heap budgets are refused (issue 22, findings 7 and 8).
func TestConfigErrorsTyped(t *testing.T) {
	b := testbroker.MochiConfig(t, broker.Config{})
	dial := b.MemoryDialer()
	tt := []struct {
		name  string
		cfg   devicejs.Config
		field string
	}{
		{"Broker and Embedded", devicejs.Config{Broker: "x:1", Embedded: b}, "Embedded"},
		{"Broker and Dial", devicejs.Config{Broker: "x:1", Dial: dial}, "Dial"},
		{"all three routes", devicejs.Config{Broker: "x:1", Dial: dial, Embedded: b}, "Embedded"},
		{"Broker without port", devicejs.Config{Broker: "nohost"}, "Broker"},
		{"Broker port 0", devicejs.Config{Broker: "h:0"}, "Broker"},
		{"Broker port 65536", devicejs.Config{Broker: "h:65536"}, "Broker"},
		{"Broker without host", devicejs.Config{Broker: ":1883"}, "Broker"},
		{"TimeScale negative", devicejs.Config{TimeScale: -1}, "TimeScale"},
		{"TimeScale NaN", devicejs.Config{TimeScale: math.NaN()}, "TimeScale"},
		{"TimeScale +Inf", devicejs.Config{TimeScale: math.Inf(1)}, "TimeScale"},
		{"TimeScale too small", devicejs.Config{TimeScale: 1e-12}, "TimeScale"},
		{"TimeScale too large", devicejs.Config{TimeScale: 2e6}, "TimeScale"},
		{"For negative", devicejs.Config{For: -time.Second}, "For"},
		{"MaxMemory -5", devicejs.Config{MaxMemory: -5}, "MaxMemory"},
		{"MaxMemory MinInt64", devicejs.Config{MaxMemory: math.MinInt64}, "MaxMemory"},
		{"MaxMemory MaxInt64", devicejs.Config{MaxMemory: math.MaxInt64}, "MaxMemory"},
		{"MaxMemory just over", devicejs.Config{MaxMemory: devicejs.MaxBudget + 1}, "MaxMemory"},
		{"MemoryGuards -1", devicejs.Config{MemoryGuards: -1}, "MemoryGuards"},
		{"MemoryGuards MaxInt64", devicejs.Config{MemoryGuards: math.MaxInt64}, "MemoryGuards"},
		{"DeviceMemory -1", devicejs.Config{DeviceMemory: -1}, "DeviceMemory"},
		{"DeviceMemory MinInt64", devicejs.Config{DeviceMemory: math.MinInt64}, "DeviceMemory"},
		{"DeviceMemory MaxInt64", devicejs.Config{DeviceMemory: math.MaxInt64}, "DeviceMemory"},
		{"DeviceMemory just over", devicejs.Config{DeviceMemory: devicejs.MaxBudget + 1}, "DeviceMemory"},
	}
	for _, tc := range tt {
		t.Run(tc.name, func(t *testing.T) {
			_, err := devicejs.New(tc.cfg)
			var ce *devicejs.ConfigError
			if !errors.Is(err, devicejs.ErrInvalidConfig) || !errors.As(err, &ce) || ce.Field != tc.field || ce.Reason == "" {
				t.Fatalf("New = %v (%T), want a *ConfigError for %s", err, err, tc.field)
			}
			if want := "devicejs: Config." + tc.field + ": "; err.Error()[:len(want)] != want {
				t.Errorf("message %q, want it to start with %q", err, want)
			}
			res, err := devicejs.Run(context.Background(), devicejs.Script{Source: "print(1)"}, tc.cfg)
			if !errors.As(err, &ce) || res.Ending != devicejs.NotStarted || res.Ending.String() != "not started" {
				t.Errorf("Run = %v, %v; want NotStarted and the ConfigError", res.Ending, err)
			}
		})
	}
	for _, ok := range []devicejs.Config{{MaxMemory: devicejs.MaxBudget}, {MemoryGuards: devicejs.MaxBudget}, {DeviceMemory: devicejs.MaxBudget}, {MaxMemory: 1, MemoryGuards: 1, DeviceMemory: 1}} {
		if _, err := devicejs.New(ok); err != nil {
			t.Errorf("New(%+v) = %v", ok, err)
		}
	}
}

// errDialRefused is a host dialer's error.
var errDialRefused = errors.New("gateway: uplink down")

// TestErrorEventCause: the host's error event carries errnoConnect and why the last attempt
// failed, as a Go error a host can branch on (issue 22, finding 7).
func TestErrorEventCause(t *testing.T) {
	b := testbroker.MochiConfig(t, broker.Config{})
	auth := testbroker.MochiConfig(t, broker.Config{Users: map[string]string{"dev": "right"}})
	tt := []struct {
		name  string
		url   string
		opts  string
		dial  devicejs.Dialer
		errno mqttcore.Errno
		check func(error) bool
	}{
		{name: "dialer error", url: "mqtt://gw:1883", dial: func(context.Context, string, string) (net.Conn, error) {
			return nil, errDialRefused
		}, errno: mqttcore.ErrnoConnectionFailed, check: func(err error) bool { return errors.Is(err, errDialRefused) }},
		{name: "wrapped dialer error", url: "mqtt://gw:1883", dial: func(context.Context, string, string) (net.Conn, error) {
			return nil, fmt.Errorf("pool: %w", errDialRefused)
		}, errno: mqttcore.ErrnoConnectionFailed, check: func(err error) bool { return errors.Is(err, errDialRefused) }},
		{name: "net.OpError", url: "mqtt://gw:1883", dial: func(context.Context, string, string) (net.Conn, error) {
			return nil, &net.OpError{Op: "dial", Net: "tcp", Err: errDialRefused}
		}, errno: mqttcore.ErrnoConnectionFailed, check: func(err error) bool {
			var op *net.OpError
			return errors.As(err, &op) && op.Op == "dial"
		}},
		{name: "connectTimeout", url: "mqtt://gw:1883", opts: "{connectTimeout: 100}", dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
			<-ctx.Done()
			return nil, ctx.Err()
		}, errno: mqttcore.ErrnoConnectionFailed, check: func(err error) bool {
			var te *mqttcore.ConnectTimeoutError
			return errors.As(err, &te) && !te.Connected
		}},
		{name: "bad password", url: "mqtt://gw:1883", opts: "{username: 'dev', password: 'wrong'}", dial: auth.MemoryDialer(),
			errno: mqttcore.ErrnoNotAuthorized, check: func(err error) bool { return errors.Is(err, packets.ErrorRefusedNotAuthorised) }},
		{name: "TLS to a plain broker", url: "mqtts://gw:8883", dial: b.MemoryDialer(),
			errno: mqttcore.ErrnoTLS, check: func(err error) bool { return err != nil }}, // the peer closes: io.EOF
	}
	for _, tc := range tt {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			var got []devicejs.Event
			src := fmt.Sprintf("var c = mqtt.connect(%q, %s);\nc.on('error', function(e) { print('error ' + e.code); c.end(); });", tc.url, orEmpty(tc.opts))
			res, out := run(t, src, devicejs.Config{Dial: tc.dial, OnEvent: func(e devicejs.Event) {
				if e.Kind == devicejs.EventError {
					mu.Lock()
					got = append(got, e)
					mu.Unlock()
				}
			}})
			if res.Ending != devicejs.Finished || out != "error 1\n" {
				t.Fatalf("%v %v %q", res.Ending, res.Err, out)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(got) != 1 {
				t.Fatalf("%d error events", len(got))
			}
			e := got[0]
			if e.Code != mqttcore.ConnectionFailed || e.Errno != tc.errno || !tc.check(e.Err) {
				t.Errorf("error event code %d errno %d err %v (%T)", e.Code, e.Errno, e.Err, e.Err)
			}
		})
	}
}

func orEmpty(s string) string {
	if s == "" {
		return "{}"
	}
	return s
}

// TestNotStartedResult: the Result returned beside an error never reads finished (issue 22,
// finding 8).
func TestNotStartedResult(t *testing.T) {
	var zero devicejs.Result
	if zero.Ending != devicejs.NotStarted || zero.Ending.String() != "not started" {
		t.Errorf("zero Result reads %q", zero.Ending)
	}
	d, err := devicejs.New(devicejs.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := d.Run(context.Background(), devicejs.Script{Source: "1"}); err != nil || res.Ending != devicejs.Finished {
		t.Fatalf("first Run: %v %v", res.Ending, err)
	}
	res, err := d.Run(context.Background(), devicejs.Script{Source: "1"})
	if err == nil || res.Ending != devicejs.NotStarted {
		t.Errorf("second Run: %v %v, want NotStarted and an error", res.Ending, err)
	}
}
