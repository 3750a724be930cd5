package conformance_test

import (
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/devicejs/devicejs/internal/pki"
	"github.com/devicejs/devicejs/internal/testbroker"
)

// timeScale makes the samples' 10 s and 15 s intervals and 1 s reconnect periods pass 20x faster.
const timeScale = "20"

// wallLimit bounds every wait for a line; generous because the binary may run under -race.
const wallLimit = 30 * time.Second

// sample describes what a documented sample does, read from its source.
type sample struct {
	file       string
	tls        bool   // mqtts://foo.bar:8883
	clientCert bool   // sets ssl.cert/ssl.key (sample 3)
	user, pass string // credentials the script sends
	forever    bool   // reconnectCount 1855: retries silently, never reports error 1
	pubTopic   string // where its interval publishes ("" = it does not publish)
	pubPayload string
	inTopic    string // a topic it subscribes to, for a peer to publish on ("" = none)
	errorLine  bool   // prints 'ERROR: code ERRNO: n' from an error handler
	closeLine  bool   // prints DISCONNECTED from a close handler
}

var samples = []sample{
	{file: "sample1.js", pubTopic: "bar_topic/device01", pubPayload: "Battery level : 10%",
		inTopic: "foo_topic/device01", errorLine: true, closeLine: true},
	{file: "sample2.js", tls: true, pubTopic: "bar_topic/device01", pubPayload: "Battery level : 10%",
		inTopic: "foo_topic/device01", errorLine: true, closeLine: true},
	{file: "sample3.js", tls: true, clientCert: true, user: "foo", pass: "foobar", forever: true,
		pubTopic: "bar_topic/device01", pubPayload: "Battery level : 10%",
		inTopic: "foo_topic/device01", errorLine: true, closeLine: true},
	{file: "sample4.js", forever: true},
	{file: "sample5.js", forever: true, pubTopic: "testtopic/subtopic/dummy", pubPayload: `{"message":"dummy"}`,
		inTopic: "shadowtopic/device01", errorLine: true},
	{file: "sample6.js", pubTopic: "foo_topic/device01/dummy", pubPayload: `{"message":"dummy"}`,
		inTopic: "foo_topic/device01/peer", errorLine: true, closeLine: true},
}

// brokers are the two real brokers every scenario runs against.
var brokers = []string{"mochi", "mosquitto"}

// world is one broker set up for one sample, with the files and peers the scenario needs.
type world struct {
	t      *testing.T
	s      sample
	b      *testbroker.Broker
	ca     *pki.CA
	peer   []testbroker.ClientOption // how an independent peer logs in
	caFile string
	args   []string // devicejs run routing flags
}

type worldOptions struct {
	users map[string]string // nil = anonymous allowed
}

// newWorld starts kind ("mochi" or "mosquitto") with TLS (a CA-signed certificate for foo.bar,
// client certificates required for sample 3) and returns the routing flags for the sample.
func newWorld(t *testing.T, kind string, s sample, wo worldOptions) *world {
	t.Helper()
	w := &world{t: t, s: s, ca: pki.Must(pki.NewCA("conformance CA"))}
	var opts []testbroker.Option
	server := pki.Must(w.ca.IssueServer("foo.bar"))
	opts = append(opts, testbroker.WithTLS(testbroker.TLS{CA: w.ca, Cert: server, RequireClientCert: s.clientCert}))
	for u, p := range wo.users {
		opts = append(opts, testbroker.WithUser(u, p))
	}
	if kind == "mosquitto" {
		w.b = testbroker.Mosquitto(t, opts...)
	} else {
		w.b = testbroker.Mochi(t, opts...)
	}
	dir := t.TempDir()
	w.caFile, _ = writeFiles(t, w.ca, dir, "ca")
	if s.tls {
		w.args = []string{"--broker", w.b.TLSAddr(), "--ssl-ca", w.caFile}
		if s.clientCert {
			cert, key := writeFiles(t, pki.Must(w.ca.IssueClient("device01")), dir, "client")
			w.args = append(w.args, "--ssl-cert", cert, "--ssl-key", key)
		}
	} else {
		w.args = []string{"--broker", w.b.Addr()}
	}
	for u, p := range wo.users {
		w.peer = append(w.peer, testbroker.WithCredentials(u, p))
		break
	}
	return w
}

// writeFiles writes a certificate and its key as PEM files into dir.
func writeFiles(t *testing.T, c interface {
	WriteFiles(dir, name string) (string, string, error)
}, dir, name string) (certFile, keyFile string) {
	t.Helper()
	certFile, keyFile, err := c.WriteFiles(dir, name)
	if err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// run starts the sample verbatim for forDevice of device time.
func (w *world) run(forDevice string, extra ...string) *scriptRun {
	args := append([]string{"--time-scale", timeScale, "--for", forDevice}, w.args...)
	args = append(args, extra...)
	return startRun(w.t, append(args, samplePath(w.s.file))...)
}

// sendUntilPrinted publishes msg to the sample's inTopic from an independent peer (mosquitto_pub
// for mosquitto, paho otherwise) until the script prints that it received it.
func (w *world) sendUntilPrinted(r *scriptRun, msg string, after int) int {
	w.t.Helper()
	want := fmt.Sprintf(`^TOPIC: %s MESSAGE: %s$`, w.s.inTopic, msg)
	deadline := time.Now().Add(wallLimit)
	for time.Now().Before(deadline) {
		testbroker.Publish(w.t, w.b.Addr(), w.s.inTopic, []byte(msg), 1, false, w.peer...)
		if i := indexFrom(r.output(), regexp.MustCompile(want), after); i >= 0 {
			return i
		}
		time.Sleep(50 * time.Millisecond)
	}
	w.t.Fatalf("the script never printed the peer's message %q\nstdout:\n%s", msg, numbered(r.output()))
	return -1
}

// expectPublishes waits until the peer has received n of the sample's publishes, exactly as sent.
func (w *world) expectPublishes(ch <-chan testbroker.Msg, n int) {
	w.t.Helper()
	for i := 0; i < n; i++ {
		select {
		case m := <-ch:
			if m.Topic != w.s.pubTopic || string(m.Payload) != w.s.pubPayload {
				w.t.Errorf("peer got %s %q, want %s %q", m.Topic, m.Payload, w.s.pubTopic, w.s.pubPayload)
			}
		case <-time.After(wallLimit):
			w.t.Fatalf("peer received %d of %d publishes", i, n)
		}
	}
}

func forEach(t *testing.T, f func(t *testing.T, kind string, s sample)) {
	for _, s := range samples {
		for _, kind := range brokers {
			t.Run(s.file+"/"+kind, func(t *testing.T) {
				t.Parallel()
				f(t, kind, s)
			})
		}
	}
}

// credentials are the users a broker accepts: the sample's own login when it sends one.
func credentials(s sample) map[string]string {
	if s.user != "" {
		return map[string]string{s.user: s.pass}
	}
	return nil
}

// TestSamplesBrokerUp: each sample connects, publishes what it says on its interval (seen by an
// independent peer), and prints what a peer publishes to a topic it subscribed.
func TestSamplesBrokerUp(t *testing.T) {
	forEach(t, func(t *testing.T, kind string, s sample) {
		w := newWorld(t, kind, s, worldOptions{users: credentials(s)})
		var published <-chan testbroker.Msg
		if s.pubTopic != "" {
			published = testbroker.Subscribe(t, w.b.Addr(), s.pubTopic, w.peer...)
		}
		forDevice := "35s"
		if s.file == "sample4.js" {
			forDevice = "65s" // two connect/end cycles of 30 s
		}
		r := w.run(forDevice)
		r.waitFor(`^CONNECTED$`, 0, wallLimit)
		if s.inTopic != "" {
			w.sendUntilPrinted(r, "hello-from-peer", 0)
		}
		lines := r.finish()
		forbidden := []string{`ERROR`, `Skipped`, `Cannot publish`, `Publish failed`, `DISCONNECTED`, `SUBSCRIBE ERROR`}
		switch s.file {
		case "sample4.js":
			expectInOrder(t, lines, []string{`^CONNECTED$`, `^end event$`, `^ABORT$`, `^CONNECTED$`, `^end event$`, `^ABORT$`}, forbidden)
		case "sample5.js", "sample6.js":
			expectInOrder(t, lines, []string{`^CONNECTED$`, `^Publish OK$`, `^Publish OK$`}, forbidden)
		default:
			expectInOrder(t, lines, []string{`^CONNECTED$`}, forbidden)
		}
		if s.pubTopic != "" {
			w.expectPublishes(published, 2)
		}
	})
}

// TestSamplesBrokerDown: nothing listens at the broker's address from the start.
func TestSamplesBrokerDown(t *testing.T) {
	forEach(t, func(t *testing.T, kind string, s sample) {
		w := newWorld(t, kind, s, worldOptions{users: credentials(s)})
		w.b.Stop()
		forDevice := "25s"
		switch s.file {
		case "sample4.js":
			forDevice = "35s" // its interval ends the first connection at 30 s
		case "sample6.js":
			forDevice = "40s" // 24 manual reconnects of 1 s, ABORT, then the 30 s interval recreates
		}
		r := w.run(forDevice)
		lines := r.finish()
		forbidden := []string{`^CONNECTED$`, `Publish OK`}
		switch s.file {
		case "sample1.js", "sample2.js":
			expectInOrder(t, lines, []string{`^ERROR: 1 ERRNO: 6$`, `^ERROR: 1 ERRNO: 6$`, `^Skipped$`, `^ERROR: 1 ERRNO: 6$`, `^Skipped$`}, forbidden)
		case "sample3.js":
			// reconnectCount 1855: the device retries forever and reports no error.
			expectInOrder(t, lines, []string{`^Skipped$`, `^Skipped$`}, append(forbidden, `ERROR`))
		case "sample4.js":
			expectInOrder(t, lines, []string{`^end event$`, `^ABORT$`}, forbidden)
		case "sample5.js":
			expectInOrder(t, lines, []string{`^Cannot publish$`}, append(forbidden, `ERROR`))
		case "sample6.js":
			expectInOrder(t, lines, []string{`^ERROR: 1 ERRNO: 6$`, `^reconnectAttempts: 1$`, `^ERROR: 1 ERRNO: 6$`,
				`^reconnectAttempts: 24$`, `^ERROR: 1 ERRNO: 6$`, `^ABORT$`, `^mqtt instance recreate$`, `^ERROR: 1 ERRNO: 6$`}, forbidden)
			if n := countMatching(lines, `^reconnectAttempts: `); n < 24 {
				t.Errorf("%d manual reconnect attempts, want at least 24", n)
			}
		}
	})
}

// TestSamplesBrokerRestart: the broker is killed while the sample is connected and started
// again on the same port; the sample recovers (by itself or through its handlers) and works again.
func TestSamplesBrokerRestart(t *testing.T) {
	forEach(t, func(t *testing.T, kind string, s sample) {
		w := newWorld(t, kind, s, worldOptions{users: credentials(s)})
		r := w.run("120s")
		first := r.waitFor(`^CONNECTED$`, 0, wallLimit)
		w.b.Kill()
		if s.closeLine {
			r.waitFor(`^DISCONNECTED$`, first, wallLimit)
		} else {
			time.Sleep(300 * time.Millisecond)
		}
		w.b.Restart()
		again := r.waitFor(`^CONNECTED$`, first+1, wallLimit)
		if s.inTopic != "" {
			w.sendUntilPrinted(r, "after-restart", again)
		}
		if s.pubTopic != "" {
			published := testbroker.Subscribe(t, w.b.Addr(), s.pubTopic, w.peer...)
			w.expectPublishes(published, 1)
		}
		lines := r.finish()
		want := []string{`^CONNECTED$`}
		if s.closeLine {
			want = append(want, `^DISCONNECTED$`)
		}
		want = append(want, `^CONNECTED$`)
		// A subscribe in flight when the broker died may fail (error 11); after the reconnection
		// every subscribe must succeed.
		expectInOrder(t, lines, want, []string{`Failed to create`})
		expectInOrder(t, lines[again:], nil, []string{`SUBSCRIBE ERROR`, `Publish failed`})
	})
}

// TestSamplesWrongPassword: the broker admits only a user the sample does not log in as.
func TestSamplesWrongPassword(t *testing.T) {
	forEach(t, func(t *testing.T, kind string, s sample) {
		users := map[string]string{"someone": "else"}
		if s.user != "" {
			users = map[string]string{s.user: s.pass + "-wrong"}
		}
		w := newWorld(t, kind, s, worldOptions{users: users})
		forDevice := "25s"
		if s.file == "sample6.js" {
			forDevice = "40s"
		}
		lines := w.run(forDevice).finish()
		forbidden := []string{`^CONNECTED$`, `Publish OK`}
		refused := `^ERROR: 1 ERRNO: [45]$` // CONNACK 4 bad user name or password, 5 not authorized
		switch s.file {
		case "sample1.js", "sample2.js":
			expectInOrder(t, lines, []string{refused, refused, `^Skipped$`}, forbidden)
		case "sample3.js":
			expectInOrder(t, lines, []string{`^Skipped$`}, append(forbidden, `ERROR`))
		case "sample4.js":
			expectInOrder(t, lines, nil, forbidden)
		case "sample5.js":
			expectInOrder(t, lines, []string{`^Cannot publish$`}, append(forbidden, `ERROR`))
		case "sample6.js":
			expectInOrder(t, lines, []string{refused, `^reconnectAttempts: 1$`, `^reconnectAttempts: 24$`, `^ABORT$`, `^mqtt instance recreate$`}, forbidden)
		}
	})
}

// TestSamplesWrongCA: --ssl-ca names a CA that did not sign the broker's certificate. TLS samples
// fail with errnoConnect 7; plain mqtt:// samples do not use the CA and connect normally.
func TestSamplesWrongCA(t *testing.T) {
	forEach(t, func(t *testing.T, kind string, s sample) {
		w := newWorld(t, kind, s, worldOptions{users: credentials(s)})
		other := pki.Must(pki.NewCA("some other CA"))
		wrong, _ := writeFiles(t, other, t.TempDir(), "wrong")
		for i, a := range w.args {
			if a == "--ssl-ca" {
				w.args[i+1] = wrong
			}
		}
		if !s.tls {
			w.args = append(w.args, "--ssl-ca", wrong)
		}
		forDevice := "25s"
		if s.file == "sample6.js" {
			forDevice = "40s"
		}
		r := w.run(forDevice)
		lines := r.finish()
		switch {
		case !s.tls:
			expectInOrder(t, lines, []string{`^CONNECTED$`}, []string{`ERROR`})
		case s.forever:
			expectInOrder(t, lines, []string{`^Skipped$`}, []string{`^CONNECTED$`, `ERROR`})
		default:
			want := `^ERROR: 1 ERRNO: 7$`
			expectInOrder(t, lines, []string{want, want, `^Skipped$`, want}, []string{`^CONNECTED$`})
		}
	})
}
