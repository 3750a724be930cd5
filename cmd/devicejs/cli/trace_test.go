package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTraceSample5 checks that the trace of sample 5 shows the whole conversation, as text on
// stderr and as JSON lines.
// TestTraceSample5 is serial: at --time-scale 60 its ~15 s bound leaves 33 ms of wall time.
func TestTraceSample5(t *testing.T) {
	jsonPath := filepath.Join(t.TempDir(), "trace.jsonl")
	r := runBinary(t, "run", "--broker", "embedded", "--time-scale", "60", "--for", "20s",
		"--trace", "--trace-json", jsonPath, filepath.Join("..", "..", "..", "testdata", "samples", "sample5.js"))
	if r.code != 0 {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	data, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for line := range strings.SplitSeq(strings.TrimSpace(string(data)), "\n") {
		var rec struct {
			T        float64 `json:"t"`
			Time     string  `json:"time"`
			Kind     string  `json:"kind"`
			ClientID string  `json:"clientId"`
			Broker   string  `json:"broker"`
			Topic    string  `json:"topic"`
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		if rec.Time == "" || rec.Broker != "mqtt://foo.bar:1883" || !strings.HasPrefix(rec.ClientID, "mqttjs_") {
			t.Errorf("record %q", line)
		}
		if rec.Kind == "packet" {
			continue // the packet records are checked by TestTracePackets
		}
		if rec.Kind == "publish" && (rec.T < 15 || rec.T > 17) {
			t.Errorf("publish at device time %v s, want ~15 s", rec.T)
		}
		kinds = append(kinds, rec.Kind+" "+rec.Topic)
	}
	// The two subscriptions may be acknowledged in either order, as may the message and PUBACK.
	got := strings.Join(kinds, ",")
	want := []string{"connect_attempt ", "connack ", "subscribe testtopic/subtopic/#", "subscribe shadowtopic/#",
		"suback testtopic/subtopic/#", "suback shadowtopic/#", "publish testtopic/subtopic/dummy",
		"message testtopic/subtopic/dummy", "publish_done testtopic/subtopic/dummy", "end "}
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("trace lacks %q: %s", w, got)
		}
	}
	if !strings.HasPrefix(got, "connect_attempt ,connack ,subscribe") || !strings.HasSuffix(got, "end ") {
		t.Errorf("trace order: %s", got)
	}
	for _, w := range []string{"trace +0.", " connect_attempt mqtt://foo.bar:1883 mqttjs_", " connack ", " returnCode=0",
		" publish mqtt://foo.bar:1883 mqttjs_", "topic=testtopic/subtopic/dummy qos=1 bytes=19", " publish_done ", " code=0"} {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("stderr lacks %q:\n%s", w, r.stderr)
		}
	}
	if !strings.Contains(r.stdout, "Publish OK") {
		t.Errorf("stdout %q", r.stdout)
	}
}

// TestTraceNoSecrets runs a script whose password and TLS key are marker strings, with every
// output on, and checks that the markers appear nowhere.
func TestTraceNoSecrets(t *testing.T) {
	t.Parallel()
	const password = "MARKER-PASSWORD-5d1e"
	const key = "-----BEGIN EC PRIVATE KEY-----\nMARKER-KEY-0b7c\n-----END EC PRIVATE KEY-----\n"
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "key.pem")
	if err := os.WriteFile(keyFile, []byte(key), 0o600); err != nil {
		t.Fatal(err)
	}
	src := `mqtt.set('ssl.key', ` + jsString(key) + `);
var c = mqtt.connect('mqtt://broker.local:1883', {username: 'dev', password: '` + password + `', reconnectCount: 0});
c.on('connect', function() {
  c.publish('t', 'x', {qos: 1}, function(err) {
    var s = mqtt.connect('mqtts://broker.local:8883', {password: '` + password + `', reconnectCount: 0});
    print('second: ' + s);
    c.end();
  });
});
c.on('error', function(err) { print('error ' + err.code); c.end(); });
`
	jsonPath := filepath.Join(dir, "trace.jsonl")
	r := runBinary(t, "run", "--broker", "embedded", "--time-scale", "10", "--for", "10s", "--trace",
		"--trace-json", jsonPath, "--ssl-key", keyFile, script(t, "secret.js", src))
	if r.code != 0 {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	data, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(r.stderr, "publish_done") {
		t.Fatalf("no trace: %q", r.stderr)
	}
	for _, out := range []string{r.stdout, r.stderr, string(data)} {
		for _, m := range []string{"MARKER-PASSWORD", "MARKER-KEY", "PRIVATE KEY"} {
			if strings.Contains(out, m) {
				t.Errorf("output carries %q:\n%s", m, out)
			}
		}
	}
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func TestCheckCommand(t *testing.T) {
	t.Parallel()
	samples, err := filepath.Glob(filepath.Join("..", "..", "..", "testdata", "samples", "*.js"))
	if err != nil || len(samples) != 6 {
		t.Fatalf("samples %v %v", samples, err)
	}
	if r := runBinary(t, append([]string{"check", "--strict"}, samples...)...); r.code != 0 || r.stderr != "" || r.stdout != "" {
		t.Fatalf("samples: exit %d, stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	warn := script(t, "warn.js", "var c = mqtt.connect('mqtt://h:1883', {keepalive: -5});\nc.publish('a/#', 'x');\n")
	r := runBinary(t, "check", warn)
	if r.code != 0 || !strings.Contains(r.stderr, "warn.js:1:51: warning: mqtt.connect option keepalive:") ||
		!strings.Contains(r.stderr, "warn.js:2:11: warning: publish(\"a/#\")") {
		t.Fatalf("warnings: exit %d, stderr %q", r.code, r.stderr)
	}
	if r := runBinary(t, "check", "--strict", warn); r.code != 1 {
		t.Fatalf("--strict with warnings: exit %d", r.code)
	}
	bad := script(t, "bad.js", "var a = 1;\nif (a {\n")
	if r := runBinary(t, "check", bad); r.code != 1 || !strings.HasPrefix(r.stderr, bad+":2:7: error: syntax error:") {
		t.Fatalf("syntax error: exit %d, stderr %q", r.code, r.stderr)
	}
	if r := runBinary(t, "check"); r.code != 2 {
		t.Fatalf("no args: exit %d", r.code)
	}
	if r := runBinary(t, "check", filepath.Join(t.TempDir(), "missing.js")); r.code != 2 {
		t.Fatalf("missing file: exit %d", r.code)
	}
}
