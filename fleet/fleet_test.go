package fleet_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
	"go.uber.org/goleak"

	"github.com/devicejs/devicejs"
	"github.com/devicejs/devicejs/fleet"
	"github.com/devicejs/devicejs/internal/leakcheck"
	"github.com/devicejs/devicejs/internal/syncbuf"
	"github.com/devicejs/devicejs/internal/testbroker"
)

// runtime's resume workers (runtime/workers.go) outlive the last run by up to 250 ms.
func TestMain(m *testing.M) {
	leakcheck.Main(m, goleak.IgnoreAnyFunction("github.com/devicejs/devicejs/runtime.worker"))
}

// publishers records, on the broker, which client ids published what.
type publishers struct {
	mqtt.HookBase
	mu    sync.Mutex
	count map[string]int
}

func (p *publishers) ID() string { return "publishers" }

func (p *publishers) Provides(b byte) bool { return b == mqtt.OnPublish }

func (p *publishers) OnPublish(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	if strings.HasPrefix(pk.TopicName, "fleet/") {
		p.mu.Lock()
		p.count[cl.ID]++
		p.mu.Unlock()
	}
	return pk, nil
}

// TestFleet200 runs 200 instances against mochi (the embedded broker over the in-memory route):
// each publishes twice at QoS 1 and ends. A peer on the broker's TCP listener must see all 400
// messages, the broker must see both from each of dev0 .. dev199 (the script's clientId with
// the index appended), and every instance's print line must carry its index.
func TestFleet200(t *testing.T) {
	const n = 200
	hook := &publishers{count: map[string]int{}}
	tb := testbroker.Mochi(t, testbroker.WithHook(hook))
	peer := testbroker.Subscribe(t, tb.Addr(), "fleet/#", testbroker.WithQoS(1))
	src := `var c = mqtt.connect('mqtt://broker.example:1883', {clientId: 'dev'});
var sent = 0;
function send() {
  c.publish('fleet/data', 'x', {qos: 1}, function(err) {
    if (err.code !== 0) { throw new Error('publish failed ' + err.code); }
    if (++sent === 2) { print('done'); c.end(); } else { send(); }
  });
}
c.on('connect', send);`
	var out syncbuf.Buffer
	f, err := fleet.New(fleet.Config{
		N: n, Script: devicejs.Script{Name: "fleet.js", Source: src},
		Device: devicejs.Config{Embedded: tb.MochiBroker(), For: time.Minute},
		Stdout: &out,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	sum, err := f.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Endings["finished"] != n || sum.ScriptErrors != 0 {
		t.Fatalf("endings %v, script errors %d (%s)", sum.Endings, sum.ScriptErrors, sum.FirstScriptError)
	}
	if sum.Published != 2*n || sum.Connected != n || sum.ConnectLatency.Count != n || sum.AllConnectedSeconds <= 0 {
		t.Errorf("summary %+v", sum)
	}
	for i := range 2 * n {
		select {
		case <-peer:
		case <-time.After(10 * time.Second):
			t.Fatalf("the peer saw %d of %d messages", i, 2*n)
		}
	}
	hook.mu.Lock()
	for i := range n {
		if got := hook.count[fmt.Sprintf("dev%d", i)]; got != 2 {
			t.Errorf("broker saw %d publishes from dev%d, want 2", got, i)
		}
	}
	if len(hook.count) != n {
		t.Errorf("broker saw %d publishing client ids, want %d", len(hook.count), n)
	}
	hook.mu.Unlock()
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	seen := map[string]bool{}
	for _, l := range lines {
		seen[l] = true
	}
	for i := range n {
		if !seen[fmt.Sprintf("[%d] done", i)] {
			t.Fatalf("no %q line in %d lines", fmt.Sprintf("[%d] done", i), len(lines))
		}
	}
}

// TestScriptErrorsCountedAndShard checks that script errors are counted with the first one's
// position, and that a shard runs only its own indices with global client ids.
func TestScriptErrorsCountedAndShard(t *testing.T) {
	var out syncbuf.Buffer
	src := "print('up');\nnull.x;\n"
	f, err := fleet.New(fleet.Config{
		N: 10, Shard: fleet.Shard{Index: 1, Count: 3},
		Script: devicejs.Script{Name: "bad.js", Source: src}, Stdout: &out,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if _, err := f.Run(context.Background()); err == nil {
			t.Error("a second Run was accepted")
		}
	}()
	if lo, hi := f.Indices(); lo != 3 || hi != 6 {
		t.Fatalf("indices [%d, %d), want [3, 6)", lo, hi)
	}
	sum, err := f.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if sum.Instances != 3 || sum.ScriptErrors != 3 || sum.Endings["script failed"] != 3 {
		t.Errorf("summary %+v", sum)
	}
	if !strings.HasPrefix(sum.FirstScriptError, "[3] ") || !strings.Contains(sum.FirstScriptError, "bad.js:2") {
		t.Errorf("first error %q", sum.FirstScriptError)
	}
	for _, want := range []string{"[3] up\n", "[4] up\n", "[5] up\n"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output %q lacks %q", out.String(), want)
		}
	}
}

func TestClientIDFor(t *testing.T) {
	tt := []struct{ template, script, want string }{
		{"dev-{i}", "ignored", "dev-42"},
		{"dev-{i}", "", "dev-42"},
		{"{i}-{i}", "", "42-42"},
		{"fixed", "x", "fixed"},
		{"", "sensor", "sensor42"},
		{"", "", ""},
	}
	for _, tc := range tt {
		if got := fleet.ClientIDFor(tc.template, 42)(tc.script); got != tc.want {
			t.Errorf("ClientIDFor(%q, 42)(%q) = %q, want %q", tc.template, tc.script, got, tc.want)
		}
	}
}

func TestNewRejects(t *testing.T) {
	tt := []fleet.Config{
		{N: 0},
		{N: 5, Shard: fleet.Shard{Index: 2, Count: 2}},
		{N: 5, Ramp: -time.Second},
		{N: 5, Device: devicejs.Config{Stdout: &syncbuf.Buffer{}}},
		{N: 5, Device: devicejs.Config{For: -time.Second}},
	}
	for i, c := range tt {
		if _, err := fleet.New(c); err == nil {
			t.Errorf("case %d: New(%+v) accepted", i, c)
		}
	}
}

// TestDefaultIDsDistinct checks that instances whose script sets no clientId get distinct
// device-default ids.
func TestDefaultIDsDistinct(t *testing.T) {
	const n = 50
	tb := testbroker.Mochi(t)
	var mu sync.Mutex
	ids := map[string]int{}
	f, err := fleet.New(fleet.Config{
		N: n, Script: devicejs.Script{Source: `var c = mqtt.connect('mqtt://b:1883'); c.on('connect', function() { c.end(); });`},
		Device: devicejs.Config{Dial: tb.MochiBroker().MemoryDialer(), OnEvent: func(e devicejs.Event) {
			if e.Kind == devicejs.EventConnect {
				mu.Lock()
				ids[e.ClientID]++
				mu.Unlock()
			}
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	sum, err := f.Run(context.Background())
	if err != nil || sum.Endings["finished"] != n {
		t.Fatalf("%v %+v", err, sum)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(ids) != n {
		t.Errorf("%d distinct ids for %d instances: %v", len(ids), n, ids)
	}
	for id := range ids {
		if !regexp.MustCompile(`^mqttjs_[0-9]{8}$`).MatchString(id) {
			t.Errorf("id %q is not a device default", id)
		}
	}
}

// TestRamp checks that starts are spread over Ramp, and that instances not yet started when
// ctx ends are reported as such.
func TestRamp(t *testing.T) {
	src := devicejs.Script{Source: `print('hi');`}
	f, err := fleet.New(fleet.Config{N: 5, Script: src, Ramp: 400 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	sum, err := f.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// Instance 4 of 5 starts at 4/5 of the ramp.
	if took := time.Since(start); took < 320*time.Millisecond || sum.Endings["finished"] != 5 {
		t.Errorf("took %v, endings %v", took, sum.Endings)
	}

	f, err = fleet.New(fleet.Config{N: 4, Script: src, Ramp: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	sum, err = f.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Endings["finished"] != 1 || sum.Endings["not started"] != 3 {
		t.Errorf("endings %v, want 1 finished and 3 not started", sum.Endings)
	}
}
