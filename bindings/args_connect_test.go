package bindings_test

import (
	"strings"
	"testing"

	"github.com/devicejs/devicejs/internal/testbroker"
)

// TestConnectArguments is the argument matrix of mqtt.connect(url[, options]): invalid
// arguments give undefined, never a throw; valid ones give a Client. URL stands for a valid
// broker URL (a closed loopback port: the connection attempt fails in the background).
func TestConnectArguments(t *testing.T) {
	addr := testbroker.DeadAddr(t)
	long := strings.Repeat("a", 250)
	tt := []struct {
		name string
		args string
		want string // "undefined" or "client"
	}{
		// url
		{"no arguments", ``, "undefined"},
		{"url undefined", `undefined`, "undefined"},
		{"url null", `null`, "undefined"},
		{"url number", `1883`, "undefined"},
		{"url object", `{}`, "undefined"},
		{"url String object", `new String(URL)`, "undefined"},
		{"url wrong scheme", `'http://127.0.0.1:1883'`, "undefined"},
		{"url no host", `'mqtt://'`, "undefined"},
		{"url port 0", `'mqtt://127.0.0.1:0'`, "undefined"},
		{"url port 65536", `'mqtt://127.0.0.1:65536'`, "undefined"},
		{"url path", `'mqtt://127.0.0.1:1883/x'`, "undefined"},
		{"url too long", `'mqtt://` + long + `.com'`, "undefined"},
		{"url lone surrogate", `'mqtt://a\ud800b'`, "undefined"},
		{"url valid", `URL`, "client"},
		{"url default port", `'mqtt://127.0.0.1'`, "client"},
		{"url mqtts", `'mqtts://127.0.0.1:1'`, "client"},
		{"extra arguments ignored", `URL, {}, 1, 2`, "client"},

		// options
		{"options undefined", `URL, undefined`, "client"},
		{"options null", `URL, null`, "client"},
		{"options empty", `URL, {}`, "client"},
		{"options array", `URL, []`, "client"},
		{"options unknown field", `URL, {foo: 1, keepAlive: 'x'}`, "client"},
		{"options number", `URL, 5`, "undefined"},
		{"options string", `URL, 'x'`, "undefined"},
		{"options boolean", `URL, true`, "undefined"},
		{"options throwing getter", `URL, {get keepalive() { throw new Error('boom'); }}`, "undefined"},
		{"options throwing Proxy", `URL, new Proxy({}, {get: function() { throw new Error('trap'); }})`, "undefined"},
		{"options benign Proxy", `URL, new Proxy({}, {get: function(o, k) { return k === 'keepalive' ? 30 : undefined; }})`, "client"},
		{"options getter", `URL, {get clientId() { return 'dev1'; }}`, "client"},
		{"options field undefined", `URL, {keepalive: undefined, clientId: undefined}`, "client"},

		// keepalive [s] 0 - 2147483647
		{"keepalive 0", `URL, {keepalive: 0}`, "client"},
		{"keepalive -0", `URL, {keepalive: -0}`, "client"},
		{"keepalive max", `URL, {keepalive: 2147483647}`, "client"},
		{"keepalive 60.0", `URL, {keepalive: 60.0}`, "client"},
		{"keepalive -1", `URL, {keepalive: -1}`, "undefined"},
		{"keepalive over", `URL, {keepalive: 2147483648}`, "undefined"},
		{"keepalive fraction", `URL, {keepalive: 1.5}`, "undefined"},
		{"keepalive NaN", `URL, {keepalive: NaN}`, "undefined"},
		{"keepalive Infinity", `URL, {keepalive: Infinity}`, "undefined"},
		{"keepalive huge", `URL, {keepalive: 1e300}`, "undefined"},
		{"keepalive string", `URL, {keepalive: '60'}`, "undefined"},
		{"keepalive null", `URL, {keepalive: null}`, "undefined"},
		{"keepalive boolean", `URL, {keepalive: true}`, "undefined"},
		{"keepalive Number object", `URL, {keepalive: new Number(60)}`, "undefined"},

		// clientId 1 - 127 bytes
		{"clientId", `URL, {clientId: 'testClientId'}`, "client"},
		{"clientId 127", `URL, {clientId: '` + strings.Repeat("c", 127) + `'}`, "client"},
		{"clientId 128", `URL, {clientId: '` + strings.Repeat("c", 128) + `'}`, "undefined"},
		{"clientId empty", `URL, {clientId: ''}`, "undefined"},
		{"clientId space", `URL, {clientId: 'a b'}`, "undefined"},
		{"clientId number", `URL, {clientId: 5}`, "undefined"},
		{"clientId lone surrogate", `URL, {clientId: 'a\udc00'}`, "undefined"},

		// protocolId / protocolVersion
		{"protocol 3.1", `URL, {protocolId: 'MQIsdp', protocolVersion: 3}`, "client"},
		{"protocol 3.1.1", `URL, {protocolId: 'MQTT', protocolVersion: 4}`, "client"},
		{"protocolVersion 5", `URL, {protocolVersion: 5}`, "undefined"},
		{"protocolVersion string", `URL, {protocolVersion: '4'}`, "undefined"},
		{"protocolId unknown", `URL, {protocolId: 'FOO'}`, "undefined"},
		{"protocolId number", `URL, {protocolId: 4}`, "undefined"},

		// reconnectPeriod [ms] 0 - 10000, connectTimeout [ms] 0 - 2147483647
		{"reconnectPeriod 0", `URL, {reconnectPeriod: 0}`, "client"},
		{"reconnectPeriod 10000", `URL, {reconnectPeriod: 10000}`, "client"},
		{"reconnectPeriod 10001", `URL, {reconnectPeriod: 10001}`, "undefined"},
		{"reconnectPeriod -1", `URL, {reconnectPeriod: -1}`, "undefined"},
		{"connectTimeout max", `URL, {connectTimeout: 2147483647}`, "client"},
		{"connectTimeout over", `URL, {connectTimeout: 2147483648}`, "undefined"},

		// username / password 1 - 511 bytes
		{"credentials", `URL, {username: 'foo', password: 'bar'}`, "client"},
		{"username empty", `URL, {username: ''}`, "undefined"},
		{"username number", `URL, {username: 1}`, "undefined"},
		{"password 512", `URL, {password: '` + strings.Repeat("p", 512) + `'}`, "undefined"},
		{"password object", `URL, {password: {}}`, "undefined"},

		// reconnectCount 0 - 999, 1855
		{"reconnectCount 0", `URL, {reconnectCount: 0}`, "client"},
		{"reconnectCount 999", `URL, {reconnectCount: 999}`, "client"},
		{"reconnectCount 1855", `URL, {reconnectCount: 1855}`, "client"},
		{"reconnectCount 1000", `URL, {reconnectCount: 1000}`, "undefined"},
		{"reconnectCount -1", `URL, {reconnectCount: -1}`, "undefined"},

		// sendBuffSize / recvBuffSize 128 - 65536
		{"buffers min", `URL, {sendBuffSize: 128, recvBuffSize: 128}`, "client"},
		{"buffers max", `URL, {sendBuffSize: 65536, recvBuffSize: 65536}`, "client"},
		{"sendBuffSize 127", `URL, {sendBuffSize: 127}`, "undefined"},
		{"recvBuffSize 65537", `URL, {recvBuffSize: 65537}`, "undefined"},
		{"recvBuffSize 2^32", `URL, {recvBuffSize: 4294967296 + 512}`, "undefined"},
	}
	for _, tc := range tt {
		t.Run(tc.name, func(t *testing.T) {
			src := `var URL = 'BROKER';
var c = mqtt.connect(` + tc.args + `);
print(c === undefined ? 'undefined' : (c && typeof c.publish === 'function' ? 'client' : 'other: ' + c));
if (c) c.end();
`
			out := env{Broker: addr}.mustRun(t, src)
			if got := strings.TrimSpace(out); got != tc.want {
				t.Errorf("mqtt.connect(%s) = %s, want %s", tc.args, got, tc.want)
			}
		})
	}
}

// TestSetArguments: mqtt.set returns undefined for anything and never throws.
func TestSetArguments(t *testing.T) {
	calls := []string{
		``, `undefined`, `null`, `5`, `'ssl.ca'`, `'ssl.ca', 'PEM'`, `'ssl.cert', 'PEM'`,
		`'ssl.key', 'PEM'`, `'ssl.ca', undefined`, `'ssl.ca', null`, `'ssl.ca', 5`,
		`'ssl.unknown', 'x'`, `{}, 'x'`, `'ssl.ca', {toString: function() { throw 1; }}`,
		`new String('ssl.ca'), 'x'`, `'ssl.ca', 'a\ud800'`,
	}
	var src strings.Builder
	for _, c := range calls {
		src.WriteString("print(String(mqtt.set(" + c + ")));\n")
	}
	out := env{}.mustRun(t, src.String())
	if want := strings.Repeat("undefined\n", len(calls)); out != want {
		t.Errorf("output:\n%s\nwant %d lines of undefined", out, len(calls))
	}
}
