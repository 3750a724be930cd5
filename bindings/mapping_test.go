package bindings_test

import (
	"strings"
	"testing"

	"github.com/devicejs/devicejs/internal/testbroker"
)

// TestMappings checks that the JS objects expose exactly the spec's methods and no others
// (k6 browser/mapping_test.go): every spec method is a function named as its property, and
// nothing else is there.
func TestMappings(t *testing.T) {
	addr := testbroker.DeadAddr(t)
	tt := []struct {
		name string
		expr string // the object to list
		want []string
	}{
		{"mqtt", "mqtt", []string{"connect", "set"}},
		{"Client", "client", []string{
			"on", "publish", "subscribe", "unsubscribe", "end", "reconnect",
			"isConnected", "isReconnecting", "canPublish", "get",
		}},
	}
	for _, tc := range tt {
		t.Run(tc.name, func(t *testing.T) {
			src := `
var client = mqtt.connect('BROKER', {connectTimeout: 0});
var o = ` + tc.expr + `;
var names = Object.getOwnPropertyNames(o);
for (var i = 0; i < names.length; i++) {
	var f = o[names[i]], d = Object.getOwnPropertyDescriptor(f, 'name');
	print(names[i] + ':' + typeof f + ':' + f.name + '/' + f.length + ':' + d.writable + d.enumerable + d.configurable +
		':' + JSON.stringify(Object.getOwnPropertyNames(f)) + ':' + String(f));
}
print('proto:' + (Object.getPrototypeOf(o) === Object.prototype));
print('symbols:' + Object.getOwnPropertySymbols(o).length);
client.end();
`
			out := env{Broker: addr}.mustRun(t, src)
			var want strings.Builder
			for _, n := range tc.want { // named as in JavaScript: non-writable, non-enumerable, configurable
				want.WriteString(n + ":function:" + n + "/0:falsefalsetrue:[\"length\",\"name\"]:function " + n + "() { [native code] }\n")
			}
			want.WriteString("proto:true\nsymbols:0\n")
			if out != want.String() {
				t.Errorf("own properties:\n%s\nwant:\n%s", out, want.String())
			}
		})
	}
}
