package conformance

import (
	"time"

	"github.com/devicejs/devicejs/internal/pki"
)

// Scenario is one situation a device meets, run for each sample.
type Scenario struct {
	Name string // short name for tables, e.g. "broker up"
	// NeedsControl says why the scenario needs a broker devicejs controls ("" = it does not):
	// such scenarios are skipped against a user's broker.
	NeedsControl string
	// Run runs the scenario for sample s on a broker of kind, failing t on a mismatch.
	Run func(t T, env *Env, kind string, s Sample)
}

// Scenarios returns the five scenarios, in the order of docs/conformance.md.
func Scenarios() []Scenario {
	return []Scenario{
		{Name: "broker up", Run: BrokerUp},
		{Name: "broker down", NeedsControl: "stops the broker before the run", Run: BrokerDown},
		{Name: "broker restart", NeedsControl: "kills and restarts the broker mid-run", Run: BrokerRestart},
		{Name: "wrong password", NeedsControl: "configures which users the broker admits", Run: WrongPassword},
		{Name: "wrong CA", Run: WrongCA},
	}
}

// Skip returns why scenario sc cannot run for sample s in env ("" = it can).
func Skip(env *Env, sc Scenario, s Sample) string {
	if env.Controllable() {
		return ""
	}
	if sc.NeedsControl != "" {
		return "needs a broker devicejs controls: it " + sc.NeedsControl
	}
	if s.TLS && (env.User == nil || env.User.TLSAddr == "") {
		return "TLS sample: no --tls-broker given"
	}
	return ""
}

// BrokerUp: each sample connects, publishes what it says on its interval (seen by an
// independent peer), and prints what a peer publishes to a topic it subscribed.
func BrokerUp(t T, env *Env, kind string, s Sample) {
	w := newWorld(t, env, kind, s, worldOptions{users: credentials(s)})
	var published <-chan Msg
	if s.PubTopic != "" {
		published = peerSubscribe(t, w.b.Addr(), s.PubTopic, w.peer)
	}
	forDevice := "35s"
	if s.File == "sample4.js" {
		forDevice = "65s" // two connect/end cycles of 30 s
	}
	r := w.run(forDevice)
	r.waitFor(`^CONNECTED$`, 0, wallLimit)
	if s.InTopic != "" {
		w.sendUntilPrinted(r, "hello-from-peer", 0)
	}
	lines := r.finish()
	forbidden := []string{`ERROR`, `Skipped`, `Cannot publish`, `Publish failed`, `DISCONNECTED`, `SUBSCRIBE ERROR`}
	switch s.File {
	case "sample4.js":
		expectInOrder(t, lines, []string{`^CONNECTED$`, `^end event$`, `^ABORT$`, `^CONNECTED$`, `^end event$`, `^ABORT$`}, forbidden)
	case "sample5.js", "sample6.js":
		expectInOrder(t, lines, []string{`^CONNECTED$`, `^Publish OK$`, `^Publish OK$`}, forbidden)
	default:
		expectInOrder(t, lines, []string{`^CONNECTED$`}, forbidden)
	}
	if s.PubTopic != "" {
		w.expectPublishes(published, 2)
	}
}

// BrokerDown: nothing listens at the broker's address from the start.
func BrokerDown(t T, env *Env, kind string, s Sample) {
	w := newWorld(t, env, kind, s, worldOptions{users: credentials(s)})
	w.b.Stop()
	forDevice := "25s"
	switch s.File {
	case "sample4.js":
		forDevice = "35s" // its interval ends the first connection at 30 s
	case "sample6.js":
		forDevice = "40s" // 24 manual reconnects of 1 s, ABORT, then the 30 s interval recreates
	}
	r := w.run(forDevice)
	lines := r.finish()
	forbidden := []string{`^CONNECTED$`, `Publish OK`}
	switch s.File {
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
}

// BrokerRestart: the broker is killed while the sample is connected and started again on the
// same port; the sample recovers (by itself or through its handlers) and works again.
func BrokerRestart(t T, env *Env, kind string, s Sample) {
	w := newWorld(t, env, kind, s, worldOptions{users: credentials(s)})
	r := w.run("120s")
	first := r.waitFor(`^CONNECTED$`, 0, wallLimit)
	w.b.Kill()
	if s.CloseLine {
		r.waitFor(`^DISCONNECTED$`, first, wallLimit)
	} else {
		time.Sleep(300 * time.Millisecond)
	}
	w.b.Restart()
	again := r.waitFor(`^CONNECTED$`, first+1, wallLimit)
	if s.InTopic != "" {
		w.sendUntilPrinted(r, "after-restart", again)
	}
	if s.PubTopic != "" {
		published := peerSubscribe(t, w.b.Addr(), s.PubTopic, w.peer)
		w.expectPublishes(published, 1)
	}
	lines := r.finish()
	want := []string{`^CONNECTED$`}
	if s.CloseLine {
		want = append(want, `^DISCONNECTED$`)
	}
	want = append(want, `^CONNECTED$`)
	// A subscribe in flight when the broker died may fail (error 11); after the reconnection
	// every subscribe must succeed.
	expectInOrder(t, lines, want, []string{`Failed to create`})
	expectInOrder(t, lines[again:], nil, []string{`SUBSCRIBE ERROR`, `Publish failed`})
}

// WrongPassword: the broker admits only a user the sample does not log in as.
func WrongPassword(t T, env *Env, kind string, s Sample) {
	users := map[string]string{"someone": "else"}
	if s.User != "" {
		users = map[string]string{s.User: s.Pass + "-wrong"}
	}
	w := newWorld(t, env, kind, s, worldOptions{users: users})
	forDevice := "25s"
	if s.File == "sample6.js" {
		forDevice = "40s"
	}
	lines := w.run(forDevice).finish()
	forbidden := []string{`^CONNECTED$`, `Publish OK`}
	refused := `^ERROR: 1 ERRNO: [45]$` // CONNACK 4 bad user name or password, 5 not authorized
	switch s.File {
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
}

// WrongCA: --ssl-ca names a CA that did not sign the broker's certificate. TLS samples fail with
// errnoConnect 7; plain mqtt:// samples do not use the CA and connect normally.
func WrongCA(t T, env *Env, kind string, s Sample) {
	w := newWorld(t, env, kind, s, worldOptions{users: credentials(s)})
	other := pki.Must(pki.NewCA("some other CA"))
	wrong, _ := writeFiles(t, other, t.TempDir(), "wrong")
	replaced := false
	for i, a := range w.args {
		if a == "--ssl-ca" {
			w.args[i+1] = wrong
			replaced = true
		}
	}
	if !replaced {
		w.args = append(w.args, "--ssl-ca", wrong)
	}
	forDevice := "25s"
	if s.File == "sample6.js" {
		forDevice = "40s"
	}
	r := w.run(forDevice)
	lines := r.finish()
	switch {
	case !s.TLS:
		expectInOrder(t, lines, []string{`^CONNECTED$`}, []string{`ERROR`})
	case s.Forever:
		expectInOrder(t, lines, []string{`^Skipped$`}, []string{`^CONNECTED$`, `ERROR`})
	default:
		want := `^ERROR: 1 ERRNO: 7$`
		expectInOrder(t, lines, []string{want, want, `^Skipped$`, want}, []string{`^CONNECTED$`})
	}
}
