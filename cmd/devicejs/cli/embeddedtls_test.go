package cli_test

import (
	"testing"
)

// TestEmbeddedTLSHostForms runs the real binary with --broker embedded and a script that
// connects over TLS to each form of loopback host: each must connect (mqtts://127.0.0.1 ended
// with errno 7 before: the in-process certificate had no IP SAN).
func TestEmbeddedTLSHostForms(t *testing.T) {
	t.Parallel()
	for _, url := range []string{
		"mqtts://127.0.0.1",
		"mqtts://[::1]",
		"mqtts://localhost",
		"mqtts://127.0.0.1:8883",
		"mqtts://[::1]:8883",
		"mqtts://10.1.2.3:1883",
		"mqtts://device.example",
	} {
		src := `var c = mqtt.connect('` + url + `', {reconnectCount: 0});
c.on('connect', function() { print('connected'); c.end(); });
c.on('error', function() { print('error ' + c.get('errnoConnect')); c.end(); });`
		r := runBinary(t, "run", "--broker", "embedded", "--timeout", "30s", script(t, "tls.js", src))
		if r.code != 0 || r.stdout != "connected\n" {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want connected", url, r.code, r.stdout, r.stderr)
		}
	}
}
