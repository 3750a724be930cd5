package bindings_test

import (
	"strings"
	"testing"

	"github.com/devicejs/devicejs/internal/testbroker"
)

// TestMappings checks that the JS objects expose exactly the spec's methods and no others
// (k6 browser/mapping_test.go): every spec method is a function, and nothing else is there.
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
	print(names[i] + ':' + typeof o[names[i]]);
}
print('proto:' + (Object.getPrototypeOf(o) === Object.prototype));
print('symbols:' + Object.getOwnPropertySymbols(o).length);
client.end();
`
			out := env{Broker: addr}.mustRun(t, src)
			var want strings.Builder
			for _, n := range tc.want {
				want.WriteString(n + ":function\n")
			}
			want.WriteString("proto:true\nsymbols:0\n")
			if out != want.String() {
				t.Errorf("own properties:\n%s\nwant:\n%s", out, want.String())
			}
		})
	}
}
