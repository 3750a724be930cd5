package check_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/devicejs/devicejs/internal/check"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestSamplesClean(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join("..", "..", "testdata", "samples", "*.js"))
	if err != nil || len(paths) != 6 {
		t.Fatalf("samples: %v %v", paths, err)
	}
	for _, p := range paths {
		src, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if ds := check.Script(p, string(src)); len(ds) != 0 {
			t.Errorf("%s: %v", p, ds)
		}
	}
}

func TestDiagnostics(t *testing.T) {
	tt := []struct {
		name string
		src  string
		want []string // diagnostics as "line:col: severity: message prefix"
	}{
		{"syntax", "var x = ;\n", []string{"1:9: error: syntax error: Unexpected token ;"}},
		{"syntax line 3", "var a = 1;\n\nfunction (", []string{"3:10: error: syntax error"}},
		{"bad url", "mqtt.connect('http://x');", []string{`1:14: warning: mqtt.connect("http://x"):`}},
		{"options", "mqtt.connect('mqtt://h', {keepalive: -1, reconnectPeriod: 20000, sendBuffSize: 100, clientId: 'a b', reconnectCount: 1855});", []string{
			"1:38: warning: mqtt.connect option keepalive:",
			"1:59: warning: mqtt.connect option reconnectPeriod:",
			"1:80: warning: mqtt.connect option sendBuffSize:",
			"1:95: warning: mqtt.connect option clientId:",
		}},
		{"protocol pair", "mqtt.connect('mqtt://h', {protocolId: 'MQTT', protocolVersion: 3});", []string{"1:39: warning: mqtt.connect option protocolId:"}},
		{"protocol 3 alone ok", "mqtt.connect('mqtt://h', {protocolVersion: 3, protocolId: 'MQIsdp'});", nil},
		{"topics", "c.publish('a/#', 'x'); c.subscribe('a/b#'); c.unsubscribe(''); c.subscribe('ok/+', {qos: 3});", []string{
			`1:11: warning: publish("a/#"):`, `1:36: warning: subscribe("a/b#"):`, `1:59: warning: unsubscribe(""):`, `1:90: warning: subscribe option qos:`,
		}},
		{"six topics", "c.subscribe('a'); c.subscribe('b'); c.subscribe('a'); c.subscribe('c'); c.subscribe('d');\nc.subscribe('e'); c.subscribe('f');",
			[]string{"2:31: warning: 6 distinct subscribe topics"}},
		{"five topics", "c.subscribe('a'); c.subscribe('b'); c.subscribe('c'); c.subscribe('d'); c.subscribe('e'); c.subscribe('a');", nil},
		{"nested", "function f() { return function() { c.on('conect', function() {}); }; }", []string{`1:41: warning: on("conect"):`}},
		{"set", "mqtt.set('ssl.crt', 'x'); mqtt.set('ssl.ca', 'x');", []string{`1:10: warning: mqtt.set("ssl.crt")`}},
		{"es2015", "let a = 1;\nconst b = () => `x${a}`;\nfor (var x of [1]) {}\nvar {c} = {c: f(...[1])};\nclass K {}\nfunction* g() {}\n", []string{
			"1:1: warning: let is not ES5", "2:1: warning: const is not ES5", "2:11: warning: an arrow function is not ES5",
			"2:17: warning: a template literal", "3:1: warning: for...of", "4:5: warning: destructuring", "4:20: warning: spread",
			"5:1: warning: a class", "6:1: warning: a generator function",
		}},
		{"non-literals ignored", "var t = 'a/#'; c.publish(t, 'x'); mqtt.connect(u, o);", nil},
	}
	for _, tc := range tt {
		t.Run(tc.name, func(t *testing.T) {
			ds := check.Script("s.js", tc.src)
			if len(ds) != len(tc.want) {
				t.Fatalf("got %d diagnostics %v, want %q", len(ds), ds, tc.want)
			}
			for i, d := range ds {
				got := strings.TrimPrefix(d.String(), "s.js:")
				if !strings.HasPrefix(got, tc.want[i]) {
					t.Errorf("diagnostic %d: got %q, want prefix %q", i, got, tc.want[i])
				}
			}
			if check.HasErrors(ds) != strings.Contains(strings.Join(tc.want, ""), ": error:") {
				t.Errorf("HasErrors %v", check.HasErrors(ds))
			}
		})
	}
}

// TestDeepSource: source nested too deep for goja (runtime.CheckSource) is one syntax error at the
// point where the bound was crossed, found without recursion; a million-deep chain of any shape
// no longer overflows the Go stack of the parser or of the checker's walk.
func TestDeepSource(t *testing.T) {
	tt := []struct{ name, src, want string }{
		{"binary chain", "var x = " + strings.Repeat("a+", 700000) + "a", "expressions or statements nested deeper than 1000 levels"},
		{"prefix !", strings.Repeat("!", 2000000) + "a", "nested deeper than 1000"},
		{"void", strings.Repeat("void ", 400000) + "0", "nested deeper than 1000"},
		{"exponent", strings.Repeat("a**", 400000) + "a", "nested deeper than 1000"},
		{"arrows", strings.Repeat("x=>", 400000) + "x", "nested deeper than 1000"},
		{"conditionals", strings.Repeat("a?", 400000) + "a" + strings.Repeat(":0", 400000), "nested deeper than 1000"},
		{"assignments", strings.Repeat("a=", 400000) + "a", "nested deeper than 1000"},
		{"if chain", "\n" + strings.Repeat("if(a)", 400000) + ";", "2:"},
		{"brackets", strings.Repeat("(", 20000), "brackets nested deeper than 10000 levels"},
		{"too long", "var s = '" + strings.Repeat("x", 16<<20) + "'", "source longer than"},
	}
	for _, tc := range tt {
		t.Run(tc.name, func(t *testing.T) {
			ds := check.Script("deep.js", tc.src)
			if len(ds) != 1 || ds[0].Severity != check.Error || !strings.Contains(ds[0].String(), tc.want) {
				t.Errorf("diagnostics %v, want one error containing %q", ds, tc.want)
			}
		})
	}
	// At the bounds the script is clean.
	for _, src := range []string{"var x = " + strings.Repeat("a+", 900) + "a;", strings.Repeat("(", 9000) + "a" + strings.Repeat(")", 9000)} {
		if ds := check.Script("ok.js", src); len(ds) != 0 {
			t.Errorf("%.30q...: %v", src, ds)
		}
	}
}
