package devicejs_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/devicejs/devicejs"
	"github.com/devicejs/devicejs/broker"
	"github.com/devicejs/devicejs/internal/leakcheck"
	"github.com/devicejs/devicejs/internal/pki"
	"github.com/devicejs/devicejs/internal/syncbuf"
	"github.com/devicejs/devicejs/internal/testbroker"
	"github.com/devicejs/devicejs/mqttcore"
)

// runtime's resume workers (runtime/workers.go) outlive the last run by up to 250 ms.
func TestMain(m *testing.M) {
	leakcheck.Main(m, goleak.IgnoreAnyFunction("github.com/devicejs/devicejs/runtime.worker"))
}

// run runs src and fails the test if it cannot start; the run is bounded by 30 s wall time.
func run(t *testing.T, src string, cfg devicejs.Config) (devicejs.Result, string) {
	t.Helper()
	var out syncbuf.Buffer
	if cfg.Stdout == nil {
		cfg.Stdout = &out
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := devicejs.Run(ctx, devicejs.Script{Name: "t.js", Source: src}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return res, out.String()
}

func TestEndings(t *testing.T) {
	tt := []struct {
		name   string
		src    string
		cfg    devicejs.Config
		cancel bool
		want   devicejs.Ending
		errRE  string
	}{
		{name: "finished", src: `print('x')`, want: devicejs.Finished},
		{name: "for elapsed", src: `setInterval(function() {}, 100)`, cfg: devicejs.Config{TimeScale: 1000, For: 5 * time.Second}, want: devicejs.ForElapsed},
		{name: "canceled", src: `setInterval(function() {}, 100)`, cancel: true, want: devicejs.Canceled, errRE: `^stop$`},
		{name: "syntax", src: "var = 1;", want: devicejs.ScriptFailed, errRE: `^t\.js:1:5`},
		{name: "throw in callback", src: "setTimeout(function() {\n  null.x;\n}, 10);", cfg: devicejs.Config{TimeScale: 10}, want: devicejs.ScriptFailed, errRE: `(?s)^t\.js:2:\d+: .*TypeError.*\(t\.js:2`},
	}
	for _, tc := range tt {
		for _, mode := range []string{"Run", "Start"} {
			t.Run(tc.name+"/"+mode, func(t *testing.T) {
				ctx, cancel := context.WithCancelCause(context.Background())
				if tc.cancel {
					time.AfterFunc(20*time.Millisecond, func() { cancel(errors.New("stop")) })
				}
				defer cancel(nil)
				res, err := runMode(ctx, mode, devicejs.Script{Name: "t.js", Source: tc.src}, tc.cfg)
				if err != nil {
					t.Fatal(err)
				}
				if res.Ending != tc.want {
					t.Fatalf("ending %v (%v), want %v", res.Ending, res.Err, tc.want)
				}
				if tc.errRE == "" {
					if res.Err != nil {
						t.Fatalf("err %v", res.Err)
					}
					return
				}
				if res.Err == nil || !regexp.MustCompile(tc.errRE).MatchString(res.Err.Error()) {
					t.Fatalf("err %v, want match %q", res.Err, tc.errRE)
				}
				if tc.want == devicejs.ScriptFailed && res.ScriptError() == nil {
					t.Fatal("no ScriptError")
				}
			})
		}
	}
}

// runMode runs script with Device.Run, or with Device.Start and waits for its done ("Start").
func runMode(ctx context.Context, mode string, script devicejs.Script, cfg devicejs.Config) (devicejs.Result, error) {
	d, err := devicejs.New(cfg)
	if err != nil {
		return devicejs.Result{}, err
	}
	if mode == "Run" {
		return d.Run(ctx, script)
	}
	ch := make(chan devicejs.Result, 1)
	if err := d.Start(ctx, script, func(r devicejs.Result) { ch <- r }); err != nil {
		return devicejs.Result{}, err
	}
	return <-ch, nil
}

// TestStartTwice checks that a Device runs once, whichever of Run and Start comes first.
func TestStartTwice(t *testing.T) {
	d, err := devicejs.New(devicejs.Config{})
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan devicejs.Result, 1)
	if err := d.Start(context.Background(), devicejs.Script{Source: `print(1)`}, func(r devicejs.Result) { ch <- r }); err != nil {
		t.Fatal(err)
	}
	if r := <-ch; r.Ending != devicejs.Finished {
		t.Errorf("Start ended %v (%v)", r.Ending, r.Err)
	}
	if err := d.Start(context.Background(), devicejs.Script{}, func(devicejs.Result) { t.Error("done of a second Start called") }); err == nil {
		t.Error("second Start returned nil")
	}
	if _, err := d.Run(context.Background(), devicejs.Script{}); err == nil {
		t.Error("Run after Start returned nil")
	}
}

func TestConfigErrors(t *testing.T) {
	b := testbroker.MochiConfig(t, broker.Config{})
	for _, cfg := range []devicejs.Config{
		{Broker: "x:1", Embedded: b},
		{Broker: "nohost"},
		{Broker: "h:0"},
		{TimeScale: -1},
		{TimeScale: math.NaN()},
		{TimeScale: math.Inf(1)},
		{TimeScale: 1e-12},
		{TimeScale: 2e6},
		{For: -time.Second},
	} {
		if _, err := devicejs.New(cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
	d, err := devicejs.New(devicejs.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Run(context.Background(), devicejs.Script{}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Run(context.Background(), devicejs.Script{}); err == nil {
		t.Fatal("second Run accepted")
	}
}

// TestDevicesIndependent runs two scripts at once in one process: each sees only its own
// mqtt.set() settings, and each has its own session resource.
func TestDevicesIndependent(t *testing.T) {
	ca := pki.Must(pki.NewCA("test CA"))
	srv := pki.Must(ca.IssueServer("localhost"))
	b := testbroker.MochiConfig(t, broker.Config{CertPEM: srv.CertPEM, KeyPEM: srv.KeyPEM})
	script := func(caPEM string) string {
		return fmt.Sprintf(`
mqtt.set('ssl.ca', %q);
var c = mqtt.connect('mqtts://localhost:8883', {reconnectCount: 0});
print('second connect: ' + mqtt.connect('mqtt://localhost:1883'));
c.on('connect', function() {
  setTimeout(function() { print('connected'); c.end(); }, 200);
});
c.on('error', function(err) { print('error ' + err.code + ' errno ' + c.get('errnoConnect')); c.end(); });
`, caPEM)
	}
	type out struct {
		res devicejs.Result
		out string
	}
	outs := make([]out, 2)
	var wg sync.WaitGroup
	for i, caPEM := range []string{string(ca.CertPEM), "-----BEGIN CERTIFICATE-----\nbogus\n-----END CERTIFICATE-----\n"} {
		wg.Go(func() {
			res, o := run(t, script(caPEM), devicejs.Config{Dial: b.MemoryTLSDialer(), TimeScale: 10})
			outs[i] = out{res, o}
		})
	}
	wg.Wait()
	want := []string{"second connect: undefined\nconnected\n", "second connect: undefined\nerror 1 errno 7\n"}
	for i, o := range outs {
		if o.res.Ending != devicejs.Finished || o.out != want[i] {
			t.Errorf("device %d: %v %v, output %q, want %q", i, o.res.Ending, o.res.Err, o.out, want[i])
		}
	}
}

// TestEventsStatsAndSecrets checks the event hook, the counters, and that neither the trace,
// the events, the log nor print output carry a password or a private key.
func TestEventsStatsAndSecrets(t *testing.T) {
	const password = "MARKER-PASSWORD-91c2"
	b := testbroker.MochiConfig(t, broker.Config{Users: map[string]string{"dev": password}})
	key := pki.Must(pki.Must(pki.NewCA("unused")).IssueClient("x"))
	var mu sync.Mutex
	var events []devicejs.Event
	var traces []mqttcore.TraceEvent
	var logs syncbuf.Buffer
	src := fmt.Sprintf(`
var c = mqtt.connect('mqtt://broker:1883', {username: 'dev', password: %q, recvBuffSize: 128});
var connects = 0;
c.on('connect', function() {
  if (++connects === 2) { c.end(); return; }
  c.subscribe('t/#', {qos: 1}, function() {
    c.publish('t/small', 'hi', {qos: 1}, function() {
      c.publish('t/big', new Array(200).join('x'), {qos: 1}, function() {
        setTimeout(function() { c.reconnect(); }, 300); // both messages delivered first
      });
    });
  });
});
c.publish('bad topic #', 'x');
`, password)
	res, out := run(t, src, devicejs.Config{
		For:     20 * time.Second,
		Dial:    b.MemoryDialer(),
		TLS:     devicejs.TLS{Key: string(key.KeyPEM)},
		Logger:  slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		OnEvent: func(e devicejs.Event) { mu.Lock(); events = append(events, e); mu.Unlock() },
		Trace:   func(e mqttcore.TraceEvent) { mu.Lock(); traces = append(traces, e); mu.Unlock() },
	})
	if res.Ending != devicejs.Finished {
		t.Fatalf("%v %v %q %+v", res.Ending, res.Err, out, traces)
	}
	want := devicejs.Stats{Published: 2, Received: 1, DiscardedForSize: 1, Reconnects: 1}
	if res.Stats != want {
		t.Errorf("stats %+v, want %+v", res.Stats, want)
	}
	mu.Lock()
	defer mu.Unlock()
	var kinds []string
	for _, e := range events {
		if e.Time.IsZero() || e.ClientID == "" || e.Broker != "mqtt://broker:1883" {
			t.Errorf("event %+v", e)
		}
		kinds = append(kinds, string(e.Kind))
	}
	// The publish completions and the deliveries may interleave; compare that part sorted.
	if len(kinds) == 9 {
		slices.Sort(kinds[1:5])
	}
	if got, w := strings.Join(kinds, " "), "connect discarded message publish_done publish_done close reconnect connect end"; got != w {
		t.Errorf("events %q\nwant   %q", got, w)
	}
	all := fmt.Sprintf("%+v %+v %s %s", events, traces, logs.String(), out)
	for _, secret := range []string{password, strings.TrimSpace(string(key.KeyPEM)), "PRIVATE KEY"} {
		if strings.Contains(all, secret) {
			t.Errorf("output carries a secret %.20q", secret)
		}
	}
	if !strings.Contains(logs.String(), "refused") {
		t.Errorf("no diagnostics logged for the refused publish: %q", logs.String())
	}
}

// TestEmbeddingDocSnippet keeps the Go program of docs/embedding.md identical to Example.
func TestEmbeddingDocSnippet(t *testing.T) {
	doc, err := os.ReadFile("docs/embedding.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)```go\n(package main.*?)```").FindSubmatch(doc)
	if m == nil {
		t.Fatal("docs/embedding.md has no ```go block with a main package")
	}
	body := regexp.MustCompile(`(?s)func main\(\) \{\n(.*?)\n\}\n`).FindSubmatch(m[1])
	src, err := os.ReadFile("example_test.go")
	if err != nil {
		t.Fatal(err)
	}
	ex := regexp.MustCompile(`(?s)\nfunc Example\(\) \{\n(.*?)\n\t// Output:`).FindSubmatch(src)
	if body == nil || ex == nil {
		t.Fatal("cannot find main in the doc or Example in example_test.go")
	}
	if string(body[1]) != string(ex[1]) {
		t.Fatalf("docs/embedding.md main differs from Example:\n--- doc\n%s\n--- Example\n%s", body[1], ex[1])
	}
}

// TestConfigClientID checks that Config.ClientID sees the script's clientId ("" when none) and
// that the id it returns is the one the broker sees.
func TestConfigClientID(t *testing.T) {
	b := testbroker.MochiConfig(t, broker.Config{})
	tt := []struct{ name, opts, wantSeen, want string }{
		{"script id", `{clientId: 'dev'}`, "dev", "dev-7"},
		{"no script id", `{}`, "", "-7"},
	}
	for _, tc := range tt {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			var seen, got string
			src := `var c = mqtt.connect('mqtt://broker:1883', ` + tc.opts + `);
c.on('connect', function() { c.end(); });`
			res, out := run(t, src, devicejs.Config{
				Dial:     b.MemoryDialer(),
				ClientID: func(id string) string { mu.Lock(); seen = id; mu.Unlock(); return id + "-7" },
				OnEvent: func(e devicejs.Event) {
					if e.Kind == devicejs.EventConnect {
						mu.Lock()
						got = e.ClientID
						mu.Unlock()
					}
				},
			})
			if res.Ending != devicejs.Finished {
				t.Fatalf("%v %v %q", res.Ending, res.Err, out)
			}
			mu.Lock()
			defer mu.Unlock()
			if seen != tc.wantSeen || got != tc.want {
				t.Errorf("hook saw %q, broker saw %q; want %q, %q", seen, got, tc.wantSeen, tc.want)
			}
		})
	}
}

// TestManyDevices runs 100 devices at once against one in-process broker over in-memory
// connections; each publishes to its own topic and receives only its own message.
func TestManyDevices(t *testing.T) {
	b := testbroker.MochiConfig(t, broker.Config{})
	const n = 100
	var wg sync.WaitGroup
	results := make([]devicejs.Result, n)
	outs := make([]string, n)
	for i := range n {
		wg.Go(func() {
			var out syncbuf.Buffer
			src := fmt.Sprintf(`
var c = mqtt.connect('mqtt://broker:1883', {clientId: 'dev%[1]d'});
c.on('connect', function() {
  c.subscribe('fleet/%[1]d', {qos: 1}, function() { c.publish('fleet/%[1]d', 'from %[1]d', {qos: 1}); });
});
c.on('message', function(topic, message) { print(message); c.end(); });`, i)
			res, err := devicejs.Run(context.Background(), devicejs.Script{Source: src},
				devicejs.Config{Stdout: &out, Dial: b.MemoryDialer(), For: 30 * time.Second})
			if err != nil {
				t.Error(err)
			}
			results[i], outs[i] = res, out.String()
		})
	}
	wg.Wait()
	for i := range n {
		if results[i].Ending != devicejs.Finished || outs[i] != fmt.Sprintf("from %d\n", i) || results[i].Stats.Received != 1 {
			t.Errorf("device %d: %v %v %q %+v", i, results[i].Ending, results[i].Err, outs[i], results[i].Stats)
		}
	}
}

// TestHostLimitsLiftBuffers: the host profile accepts buffers above the device's 65536 bytes
// and delivers a message the device would have discarded.
func TestHostLimitsLiftBuffers(t *testing.T) {
	b := testbroker.MochiConfig(t, broker.Config{})
	src := `
var c = mqtt.connect('mqtt://broker:1883', {sendBuffSize: 200000, recvBuffSize: 200000});
if (!c) {
  print('refused');
} else {
  c.on('connect', function() {
    c.subscribe('big', {qos: 1}, function() {
      c.publish('big', new Array(100001).join('x'), {qos: 1});
    });
  });
  c.on('message', function(topic, message) { print(topic + ' ' + message.length); c.end(); });
}`
	for _, tc := range []struct {
		lim  mqttcore.Limits
		want string
	}{{mqttcore.Limits{}, "refused\n"}, {mqttcore.HostLimits(), "big 100000\n"}} {
		res, out := run(t, src, devicejs.Config{Dial: b.MemoryDialer(), Limits: tc.lim, For: 20 * time.Second})
		if res.Ending != devicejs.Finished || out != tc.want {
			t.Errorf("limits %+v: %v %v, output %q, want %q", tc.lim, res.Ending, res.Err, out, tc.want)
		}
	}
}
