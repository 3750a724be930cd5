package conformance

import (
	"fmt"
	"path/filepath"
	"regexp"
	"time"

	"github.com/devicejs/devicejs/internal/pki"
)

// timeScale makes the samples' 10 s and 15 s intervals and 1 s reconnect periods pass 20x faster.
const timeScale = "20"

// wallLimit bounds every wait for a line; generous because the binary may run under -race.
const wallLimit = 30 * time.Second

// Broker is a running broker a scenario talks to. Stop, Kill and Restart are called only by
// scenarios that need control (Scenario.NeedsControl) and only on a controllable Env.
type Broker interface {
	Addr() string    // plain MQTT host:port (peers, mqtt:// samples)
	TLSAddr() string // MQTT over TLS host:port (mqtts:// samples); "" if none
	Stop()           // stop listening, cleanly
	Kill()           // stop abruptly, as a crash would
	Restart()        // listen again on the same ports
}

// BrokerSpec is what a scenario asks of a controllable broker.
type BrokerSpec struct {
	CA                *pki.CA           // issued Server and verifies client certificates
	Server            *pki.Cert         // TLS server certificate, for "foo.bar"
	RequireClientCert bool              // refuse TLS clients without a certificate from CA
	Users             map[string]string // nil = anonymous allowed
}

// UserBroker is a broker devicejs does not control: the user's own.
type UserBroker struct {
	Addr    string // plain MQTT host:port
	TLSAddr string // MQTT over TLS host:port; "" = TLS samples are skipped
	// CAFile, CertFile and KeyFile are passed as --ssl-ca, --ssl-cert and --ssl-key.
	CAFile, CertFile, KeyFile string
}

// Env is where the scenarios run: the devicejs binary and either controllable brokers (Start)
// or the user's broker (User).
type Env struct {
	Binary string   // the devicejs executable
	Kinds  []string // broker kinds, one run of each scenario and sample per kind
	// Start starts a broker of kind for spec; it registers its own cleanup with t. Nil means
	// User is the broker.
	Start func(t T, kind string, spec BrokerSpec) Broker
	User  *UserBroker
}

// Controllable reports whether the env's brokers can be stopped, killed, restarted and given
// users.
func (e *Env) Controllable() bool { return e.Start != nil }

// world is one broker set up for one sample, with the files and peers the scenario needs.
type world struct {
	t      T
	env    *Env
	s      Sample
	b      Broker
	ca     *pki.CA
	peer   Creds
	caFile string
	args   []string // devicejs run routing flags
}

type worldOptions struct {
	users map[string]string // nil = anonymous allowed
}

// newWorld starts kind with TLS (a CA-signed certificate for foo.bar, client certificates
// required for sample 3) and returns the routing flags for the sample; on a user's broker it
// routes to that broker with the user's files.
func newWorld(t T, env *Env, kind string, s Sample, wo worldOptions) *world {
	t.Helper()
	w := &world{t: t, env: env, s: s}
	if env.User != nil && env.Start == nil {
		u := env.User
		w.b = userBroker{u}
		addr := u.Addr
		if s.TLS {
			addr = u.TLSAddr
		}
		w.args = []string{"--broker", addr}
		for _, f := range []struct{ flag, file string }{{"--ssl-ca", u.CAFile}, {"--ssl-cert", u.CertFile}, {"--ssl-key", u.KeyFile}} {
			if f.file != "" {
				w.args = append(w.args, f.flag, f.file)
			}
		}
		w.caFile = u.CAFile
		if s.User != "" {
			w.peer = Creds{s.User, s.Pass}
		}
		return w
	}
	w.ca = pki.Must(pki.NewCA("conformance CA"))
	server := pki.Must(w.ca.IssueServer("foo.bar"))
	w.b = env.Start(t, kind, BrokerSpec{CA: w.ca, Server: server, RequireClientCert: s.ClientCert, Users: wo.users})
	dir := t.TempDir()
	w.caFile, _ = writeFiles(t, w.ca, dir, "ca")
	if s.TLS {
		w.args = []string{"--broker", w.b.TLSAddr(), "--ssl-ca", w.caFile}
		if s.ClientCert {
			cert, key := writeFiles(t, pki.Must(w.ca.IssueClient("device01")), dir, "client")
			w.args = append(w.args, "--ssl-cert", cert, "--ssl-key", key)
		}
	} else {
		w.args = []string{"--broker", w.b.Addr()}
	}
	for u, p := range wo.users {
		w.peer = Creds{u, p}
		break
	}
	return w
}

// userBroker adapts a UserBroker; the control methods are never called (see Scenario.NeedsControl).
type userBroker struct{ u *UserBroker }

func (b userBroker) Addr() string    { return b.u.Addr }
func (b userBroker) TLSAddr() string { return b.u.TLSAddr }
func (b userBroker) Stop()           {}
func (b userBroker) Kill()           {}
func (b userBroker) Restart()        {}

// writeFiles writes a certificate and its key as PEM files into dir.
func writeFiles(t T, c interface {
	WriteFiles(dir, name string) (string, string, error)
}, dir, name string) (certFile, keyFile string) {
	t.Helper()
	certFile, keyFile, err := c.WriteFiles(dir, name)
	if err != nil {
		t.Fatalf("%v", err)
	}
	return certFile, keyFile
}

// samplePath is the verbatim copy of a documented sample, written to a temporary folder.
func (w *world) samplePath() string {
	p := filepath.Join(w.t.TempDir(), w.s.File)
	if err := writeSample(p, w.s); err != nil {
		w.t.Fatalf("%v", err)
	}
	return p
}

// run starts the sample verbatim for forDevice of device time.
func (w *world) run(forDevice string, extra ...string) *scriptRun {
	args := append([]string{"--time-scale", timeScale, "--for", forDevice}, w.args...)
	args = append(args, extra...)
	return startRun(w.t, w.env.Binary, append(args, w.samplePath())...)
}

// sendUntilPrinted publishes msg to the sample's inTopic from an independent peer until the
// script prints that it received it.
func (w *world) sendUntilPrinted(r *scriptRun, msg string, after int) int {
	w.t.Helper()
	want := fmt.Sprintf(`^TOPIC: %s MESSAGE: %s$`, w.s.InTopic, msg)
	deadline := time.Now().Add(wallLimit)
	for time.Now().Before(deadline) {
		peerPublish(w.t, w.b.Addr(), w.s.InTopic, []byte(msg), w.peer)
		if i := indexFrom(r.output(), regexp.MustCompile(want), after); i >= 0 {
			return i
		}
		time.Sleep(50 * time.Millisecond)
	}
	w.t.Fatalf("the script never printed the peer's message %q\nstdout:\n%s", msg, numbered(r.output()))
	return -1
}

// expectPublishes waits until the peer has received n of the sample's publishes, exactly as sent.
func (w *world) expectPublishes(ch <-chan Msg, n int) {
	w.t.Helper()
	for i := 0; i < n; i++ {
		select {
		case m := <-ch:
			if m.Topic != w.s.PubTopic || string(m.Payload) != w.s.PubPayload {
				w.t.Errorf("peer got %s %q, want %s %q", m.Topic, m.Payload, w.s.PubTopic, w.s.PubPayload)
			}
		case <-time.After(wallLimit):
			w.t.Fatalf("peer received %d of %d publishes", i, n)
		}
	}
}
