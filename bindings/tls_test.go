package bindings_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/devicejs/devicejs/internal/pki"
	"github.com/devicejs/devicejs/internal/testbroker"
)

// TestSetCapturedAtConnect: mqtt.set('ssl.ca', pem) is read at mqtt.connect(): clearing it
// afterwards does not affect that client's reconnection, but the next connect() goes without
// it (host roots, which do not know the test CA: errnoConnect 7).
func TestSetCapturedAtConnect(t *testing.T) {
	ca := pki.Must(pki.NewCA("devicejs test CA"))
	b := testbroker.Mochi(t, testbroker.WithTLS(testbroker.TLS{CA: ca, Cert: pki.Must(ca.IssueServer("foo.bar"))}))
	pem, err := json.Marshal(string(ca.CertPEM))
	if err != nil {
		t.Fatal(err)
	}
	src := `
mqtt.set('ssl.ca', ` + string(pem) + `);
var client = mqtt.connect('mqtts://foo.bar:8883', {reconnectPeriod: 0});
mqtt.set('ssl.ca');
var connects = 0;
client.on('connect', function() {
	print('connect ' + (++connects));
	if (connects === 1) {
		client.reconnect();
		return;
	}
	client.end(function() {
		var second = mqtt.connect('mqtts://foo.bar:8883');
		second.on('error', function(err) {
			print('second client error ' + err.code + ' errno ' + second.get('errnoConnect'));
			second.end();
		});
	});
});
client.on('error', function(err) { print('error ' + err.code + ' errno ' + client.get('errnoConnect')); client.end(); });
`
	out := env{RouteTo: b.TLSAddr()}.mustRun(t, src)
	want := "connect 1\nconnect 2\nsecond client error 1 errno 7\n"
	if out != want {
		t.Errorf("output:\n%s\nwant:\n%s", out, want)
	}
	if strings.Contains(out, "\nerror") {
		t.Error("the first client lost its CA")
	}
}
