package cli_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/devicejs/devicejs/internal/pki"
	"github.com/devicejs/devicejs/internal/testbroker"
)

// TestSecretsNeverPrinted runs scripts that use a marker password, marker URL credentials and
// a real private key (whose PEM body is the marker) through success and failure paths (good
// and bad password, refused URL, TLS failure, an uncaught throw of the options object, printing
// the client object) with every output devicejs has: stdout, stderr, --trace and --trace-json.
// No marker may appear, except where the script prints it itself (the "own print" control).
func TestSecretsNeverPrinted(t *testing.T) {
	t.Parallel()
	const (
		password = "S3cr3t-MARKER"
		wrongPw  = "S3cr3t-WRONG-MARKER"
		urlPass  = "S3cr3t-URLPASS"
	)
	b := testbroker.Mochi(t, testbroker.WithUser("user", password), testbroker.WithTLS(testbroker.TLS{RequireClientCert: true}))
	otherCA := pki.Must(pki.NewCA("other CA"))
	client := pki.Must(otherCA.IssueClient("device"))
	keyPEM := string(client.KeyPEM)
	// A line of the key's base64 body is the key marker.
	keyMarker := strings.Split(strings.TrimSpace(keyPEM), "\n")[1]
	markers := []string{password, wrongPw, urlPass, keyMarker}

	tlsPort := b.TLSAddr()[strings.LastIndexByte(b.TLSAddr(), ':')+1:]
	common := `var opts = {username: 'user', password: PW, reconnectCount: 2, reconnectPeriod: 100, connectTimeout: 2000};
function show(c) { print('client', c, JSON.stringify(c), c && c.get('password'), c && c.get('options'), JSON.stringify(mqtt)); }
`
	js := func(s string) string { return strconv.Quote(s) }
	tt := []struct {
		name, broker, src string
		code              int
	}{
		{"good password", b.Addr(), `var PW = ` + js(password) + `;` + common + `
var c = mqtt.connect('mqtt://device.example:1883', opts); show(c);
c.on('connect', function() { print('connected'); c.publish('t/x', 'hello', {qos: 1}, function(e) { print('published', JSON.stringify(e)); c.end(); }); });
c.on('error', function(e) { print('error', JSON.stringify(e)); c.end(); });`, 0},
		{"bad password", b.Addr(), `var PW = ` + js(wrongPw) + `;` + common + `
var c = mqtt.connect('mqtt://device.example:1883', opts); show(c);
c.on('error', function(e) { print('error', JSON.stringify(e), c.get('errnoConnect')); c.end(); });
c.on('close', function() { print('close'); });`, 0},
		{"credentials in the URL", b.Addr(), `var PW = ` + js(password) + `;` + common + `
var c = mqtt.connect('mqtt://user:` + urlPass + `@device.example:1883', opts); show(c);
var d = mqtt.connect('mqtts://user:` + urlPass + `@device.example', opts); show(d);`, 0},
		{"TLS failure with a marker key", b.TLSAddr(), `var PW = ` + js(password) + `;` + common + `
mqtt.set('ssl.key', ` + js(keyPEM) + `);
mqtt.set('ssl.cert', ` + js(string(client.CertPEM)) + `);
var c = mqtt.connect('mqtts://localhost:` + tlsPort + `', opts); show(c);
c.on('error', function(e) { print('error', JSON.stringify(e), c.get('errnoConnect')); c.end(); });`, 0},
		{"unusable key PEM holding the marker", b.TLSAddr(), `var PW = ` + js(password) + `;` + common + `
mqtt.set('ssl.key', '-----BEGIN EC PRIVATE KEY-----\n` + keyMarker + `\n-----END EC PRIVATE KEY-----\n');
mqtt.set('ssl.cert', ` + js(string(client.CertPEM)) + `);
var c = mqtt.connect('mqtts://localhost:` + tlsPort + `', opts); show(c);
c.on('error', function(e) { print('error', JSON.stringify(e), c.get('errnoConnect')); c.end(); });`, 0},
		{"uncaught throw of the options object", b.Addr(), `var PW = ` + js(password) + `;` + common + `
var c = mqtt.connect('mqtt://device.example:1883', opts);
c.on('connect', function() { throw opts; });`, 1},
		{"uncaught error after a failed connect", b.Addr(), `var PW = ` + js(wrongPw) + `;` + common + `
var c = mqtt.connect('mqtt://device.example:1883', opts);
c.on('error', function(e) { null.x; });`, 1},
	}
	for _, tc := range tt {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			traceFile := filepath.Join(dir, "trace.jsonl")
			r := runBinary(t, "run", "--broker", tc.broker, "--ssl-ca", writeFile(t, dir, "ca.pem", b.CA().CertPEM),
				"--time-scale", "10", "--for", "20s", "--trace", "--trace-json", traceFile, script(t, "secret.js", tc.src))
			if r.code != tc.code {
				t.Fatalf("exit code %d, want %d\nstdout: %s\nstderr: %s", r.code, tc.code, r.stdout, r.stderr)
			}
			trace, err := os.ReadFile(traceFile)
			if err != nil {
				t.Fatal(err)
			}
			connects := !strings.Contains(r.stdout, "client undefined")
			if connects && (len(trace) == 0 || !strings.Contains(r.stderr, "trace")) {
				t.Errorf("no trace written (stderr %q)", r.stderr)
			}
			for _, m := range markers {
				for name, out := range map[string]string{"stdout": r.stdout, "stderr": r.stderr, "trace-json": string(trace)} {
					if strings.Contains(out, m) {
						t.Errorf("%s contains the secret %q:\n%s", name, m, out)
					}
				}
			}
			t.Logf("stdout: %s", r.stdout)
		})
	}

	// Control: the check would see a secret the script prints itself.
	r := runBinary(t, "run", script(t, "own.js", `print(`+js(password)+`)`))
	if !strings.Contains(r.stdout, password) {
		t.Fatalf("control: stdout %q", r.stdout)
	}
}

// writeFile writes data to dir/name and returns the path.
func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
