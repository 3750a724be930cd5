package bindings_test

import (
	"context"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dop251/goja"

	"github.com/devicejs/devicejs/bindings"
	"github.com/devicejs/devicejs/mqttcore"
	"github.com/devicejs/devicejs/runtime"
)

// The binding's hot paths, each against fakeBroker (no broker work in the profile). The
// scripts call benchStart() once connected and benchStop() when done, so connecting and
// ending are not timed. Run with -cpuprofile to see where the time goes (docs/performance.md).

const benchPayload = `'0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef'`

// runBench runs src (N replaced by b.N, ADDR by the broker address) with mqtt, benchStart
// and benchStop installed.
func runBench(b *testing.B, addr, src string) {
	b.Helper()
	src = strings.NewReplacer("ADDR", addr, "N_TOTAL", strconv.Itoa(b.N)).Replace(src)
	l := runtime.New(runtime.Options{Stdout: io.Discard})
	host := bindings.NewHost(l, mqttcore.HostConfig{})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	b.ReportAllocs()
	err := l.Run(ctx, "bench.js", src, func(l *runtime.Loop) error {
		vm := l.VM()
		_ = vm.Set("benchStart", func(goja.FunctionCall) goja.Value { b.ResetTimer(); return goja.Undefined() })
		_ = vm.Set("benchStop", func(goja.FunctionCall) goja.Value { b.StopTimer(); return goja.Undefined() })
		_ = vm.Set("benchFail", func(c goja.FunctionCall) goja.Value { b.Error(c.Argument(0).String()); return goja.Undefined() })
		return bindings.Register(l, host, bindings.Config{})
	})
	if err != nil {
		b.Fatal(err)
	}
}

// chainSrc publishes N_TOTAL messages with the given QoS, each from the previous one's
// completion callback (the device's one-in-flight rule), to a topic nobody subscribes.
const chainSrc = `
var n = 0;
var c = mqtt.connect('mqtt://ADDR', { reconnectCount: 0 });
function next() {
  if (n === N_TOTAL) { benchStop(); c.end(); return; }
  n++;
  var r = c.publish('bench/t', ` + benchPayload + `, { qos: QOS }, function (e) {
    if (e.code !== 0) { benchFail('callback ' + e.code); c.end(); return; }
    next();
  });
  if (r !== undefined) { benchFail('publish ' + r.code); c.end(); }
}
c.on('connect', function () { benchStart(); next(); });
c.on('error', function (e) { benchFail('connect ' + e.code); });
`

// BenchmarkPublish is one JS publish call through the paho hand-off to its completion
// callback (QoS 0: written; QoS 1: PUBACK from the fake broker).
func BenchmarkPublish(b *testing.B) {
	for _, qos := range []string{"0", "1"} {
		b.Run("qos"+qos, func(b *testing.B) {
			addr := startFakeBroker(b, false, 0)
			runBench(b, addr, strings.Replace(chainSrc, "QOS", qos, 1))
		})
	}
}

// BenchmarkMessage is one incoming QoS 0 message (64 bytes) to the JS 'message' handler: the
// fake broker sends N messages right after the SUBACK.
func BenchmarkMessage(b *testing.B) {
	addr := startFakeBroker(b, false, b.N)
	runBench(b, addr, `
var got = 0;
var c = mqtt.connect('mqtt://ADDR', { reconnectCount: 0, recvBuffSize: 1024 });
c.on('message', function (t, m) {
  got++;
  if (got === N_TOTAL) { benchStop(); c.end(); }
});
c.on('connect', function () { benchStart(); c.subscribe('bench/m', { qos: 0 }); });
c.on('error', function (e) { benchFail('connect ' + e.code); });
`)
}

// BenchmarkEcho is the qos0 workload's cycle: publish, completion callback, the fake broker's
// echo to the 'message' handler; the next publish goes out from the completion callback.
func BenchmarkEcho(b *testing.B) {
	addr := startFakeBroker(b, true, 0)
	runBench(b, addr, `
var n = 0, got = 0, finished = false;
var c = mqtt.connect('mqtt://ADDR', { reconnectCount: 0 });
function next() {
  if (n === N_TOTAL) { return; }
  n++;
  c.publish('bench/e', `+benchPayload+`, { qos: 0 }, function (e) {
    if (finished) { return; } // the last echo can beat its own completion; end() makes it 11
    if (e.code !== 0) { benchFail('callback ' + e.code); c.end(); return; }
    next();
  });
}
c.on('message', function () {
  got++;
  if (got === N_TOTAL) { finished = true; benchStop(); c.end(); }
});
c.on('connect', function () {
  c.subscribe('bench/e', { qos: 0 }, function () { benchStart(); next(); });
});
c.on('error', function (e) { benchFail('connect ' + e.code); });
`)
}

// BenchmarkNewDevice is the cost of one device before its script runs: runtime.New, a Host
// and the mqtt object.
func BenchmarkNewDevice(b *testing.B) {
	b.ReportAllocs()
	for range b.N {
		l := runtime.New(runtime.Options{Stdout: io.Discard})
		host := bindings.NewHost(l, mqttcore.HostConfig{})
		if err := l.Run(context.Background(), "empty.js", "", func(l *runtime.Loop) error {
			return bindings.Register(l, host, bindings.Config{})
		}); err != nil {
			b.Fatal(err)
		}
	}
}
