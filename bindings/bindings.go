package bindings

import (
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/dop251/goja"

	"github.com/devicejs/devicejs/internal/gojainternal"
	"github.com/devicejs/devicejs/mqttcore"
	"github.com/devicejs/devicejs/runtime"
)

// DefaultStopTimeout is how long the loop's stop waits, at most, for open sessions to be
// released after it ended them (Config.StopTimeout).
const DefaultStopTimeout = 2 * time.Second

// Config is the host side of the `mqtt` object: what the command line decides rather than the
// script. The zero value is valid.
type Config struct {
	// SSL overrides mqtt.set(): each non-empty field replaces whatever the script set for that
	// setting ('ssl.ca', 'ssl.cert', 'ssl.key'), at every mqtt.connect(). The CLI fills it from
	// --ssl-ca, --ssl-cert and --ssl-key, e.g. to run a verbatim sample whose PEM strings are
	// placeholders against a test broker.
	SSL mqttcore.TLSSettings

	// Logger receives diagnostics: recovered panics (error level, with a Go stack), sessions
	// still open after StopTimeout (warn level) and the reasons behind refused calls (debug
	// level). nil means slog.Default().
	Logger *slog.Logger

	// StopTimeout bounds how long the end of a run waits for open sessions to disconnect and
	// release; 0 means DefaultStopTimeout.
	StopTimeout time.Duration

	// ClientID, if non-nil, decides the clientId of every mqtt.connect(): it is given the
	// script's clientId ("" when the script set none, meaning a generated one) and returns the
	// id to use ("" again means generated). A fleet uses it to give each instance its own id.
	// An id mqttcore refuses makes mqtt.connect() return undefined, as a bad script id would.
	// Called on the loop.
	ClientID func(scriptID string) string
}

// NewHost returns a mqttcore.Host whose events and completion callbacks run on l, in order:
// hc.Clock is set to l.Clock() and hc.Executor to a function that posts each callback onto
// the loop. Once the loop has ended (Post returns false), callbacks run on the calling
// goroutine instead, one at a time, so that sessions still closing after the run (see
// Register) can report their release; bindings' own callbacks never touch goja there.
// Other fields of hc are kept. Safe from any goroutine. New does the same and also delivers
// each event inside the executor's loop job (one loop job per event instead of two).
func NewHost(l *runtime.Loop, hc mqttcore.HostConfig) *mqttcore.Host {
	return New(l, hc, Config{}).Host()
}

// Binding is the `mqtt` object of one runtime together with the mqttcore.Host behind it. Made
// by New, it knows the Host's executor, so each MQTT event reaches JS in a single loop job.
type Binding struct {
	l    *runtime.Loop
	host *mqttcore.Host
	exec *loopExec
	cfg  Config
}

// New prepares the `mqtt` object of l: a Host made as by NewHost, and cfg for Setup. Safe from
// any goroutine; nothing runs until Setup.
func New(l *runtime.Loop, hc mqttcore.HostConfig, cfg Config) *Binding {
	e := &loopExec{l: l}
	hc.Clock = l.Clock()
	hc.Executor = e.run
	return &Binding{l: l, host: mqttcore.NewHost(hc), exec: e, cfg: cfg}
}

// Host returns the session host behind the binding. Safe from any goroutine.
func (b *Binding) Host() *mqttcore.Host { return b.host }

// Setup installs the global `mqtt` object; it is a setup function for runtime.Loop.Run (loop
// only) and behaves as Register.
func (b *Binding) Setup(l *runtime.Loop) error {
	if l != b.l {
		return errors.New("bindings: Setup on a loop other than the one given to New")
	}
	return register(l, b.host, b.cfg, b.exec)
}

// loopExec is the Executor of a Host made by NewHost: it posts each callback onto the loop,
// with the after-the-loop fallback described at NewHost. While it runs a callback on the
// loop, the binding's loop job for that callback (module.post) runs right there instead of
// being posted a second time: one loop job per event or completion, not two.
type loopExec struct {
	l  *runtime.Loop
	mu sync.Mutex // serializes callbacks that run after the loop ended

	// Loop only.
	inline bool  // the executor is running a callback: module.post may run its job at once
	err    error // the error of the job run inline, returned by the executor's loop job
}

// run is the Executor. Safe from any goroutine.
func (e *loopExec) run(f func()) {
	posted := e.l.Post(func(*goja.Runtime) error {
		e.inline = true
		defer func() { e.inline = false }()
		f()
		err := e.err
		e.err = nil
		return err
	})
	if !posted {
		e.mu.Lock()
		defer e.mu.Unlock()
		f()
	}
}

// module is the per-runtime state behind one global `mqtt` object. Loop only, except where a
// field says otherwise.
type module struct {
	l    *runtime.Loop
	vm   *goja.Runtime
	host *mqttcore.Host
	cfg  Config
	log  *slog.Logger
	exec *loopExec // host's executor when made by NewHost for l, else nil

	settings mqttcore.TLSSettings // what the script set with mqtt.set()
	clients  map[*client]struct{} // sessions not yet released
	stopped  bool                 // the loop is stopping: connect refuses
}

// Register installs the global `mqtt` object on l, backed by host (one Host per runtime; see
// NewHost). Call it on the loop goroutine, typically as a setup function of runtime.Loop.Run.
// It also registers a stop hook that ends every open session (DISCONNECT) when the run ends,
// for any reason, and waits up to cfg.StopTimeout for them to be released.
func Register(l *runtime.Loop, host *mqttcore.Host, cfg Config) error {
	return register(l, host, cfg, nil)
}

// register is Register; exec is the host's executor when it posts onto l (see New), else nil.
func register(l *runtime.Loop, host *mqttcore.Host, cfg Config, exec *loopExec) error {
	if l == nil || host == nil {
		return errors.New("bindings: Register needs a loop and a host")
	}
	m := &module{
		l:       l,
		vm:      l.VM(),
		host:    host,
		cfg:     cfg,
		log:     cfg.Logger,
		clients: make(map[*client]struct{}),
	}
	if m.log == nil {
		m.log = slog.Default()
	}
	if m.cfg.StopTimeout <= 0 {
		m.cfg.StopTimeout = DefaultStopTimeout
	}
	if exec != nil && exec.l == l {
		m.exec = exec
	}

	obj := m.vm.NewObject()
	methods := []struct {
		name string
		tmpl *gojainternal.FuncTemplate
		fn   func(goja.FunctionCall) goja.Value
	}{
		{"connect", connectFunc, m.firewall("mqtt.connect", returnUndefined, m.connect)},
		{"set", setFunc, m.firewall("mqtt.set", returnUndefined, m.set)},
	}
	for _, meth := range methods {
		if err := defineMethod(obj, meth.name, meth.tmpl.New(m.vm, meth.fn)); err != nil {
			return err
		}
	}
	if err := m.vm.GlobalObject().DefineDataProperty("mqtt", obj, goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_TRUE); err != nil {
		return err
	}
	l.OnStop(m.stop)
	return nil
}

// defineMethod defines a writable, enumerable, configurable own method on obj as a plain data
// property, so that no setter inherited from a tampered prototype runs.
func defineMethod(obj *goja.Object, name string, fn *goja.Object) error {
	return obj.DefineDataProperty(name, fn, goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_TRUE)
}

// The templates of mqtt.connect and mqtt.set (gojainternal.FuncTemplate: a method's "name" and
// "length" are built when a script first touches them; before, the name was the Go closure's).
var connectFunc, setFunc = gojainternal.NewFuncTemplate("connect", 0), gojainternal.NewFuncTemplate("set", 0)

// connect is mqtt.connect(url[, options]): a Client object, or undefined for invalid
// arguments, when the session resource is held, or once the run is stopping.
func (m *module) connect(call goja.FunctionCall) goja.Value {
	url, ok := urlArg(call.Argument(0))
	if !ok {
		m.log.Debug("mqtt.connect: url is not a well-formed string") // never format JS values: toString may run script code
		return goja.Undefined()
	}
	opts, ok := connectOptionsArg(m.vm, call.Argument(1))
	if !ok {
		m.log.Debug("mqtt.connect: invalid options")
		return goja.Undefined()
	}
	if m.stopped {
		return goja.Undefined()
	}
	if m.cfg.ClientID != nil {
		opts.ClientID = m.cfg.ClientID(opts.ClientID)
	}
	c := newClient(m)
	sess, err := m.host.Connect(url, opts, m.tlsSettings(), c.events())
	if err != nil {
		m.log.Debug("mqtt.connect: refused", "err", err) // not the url: it may hold user:password@
		return goja.Undefined()
	}
	c.sess = sess
	c.handle = m.l.Hold()
	m.clients[c] = struct{}{}
	obj, err := c.object()
	if err != nil { // cannot happen with a fresh object; end the session rather than leak it
		m.log.Error("mqtt.connect: building the client object", "err", err)
		c.end(nil)
		return goja.Undefined()
	}
	return obj
}

// set is mqtt.set(name[, arg]): stores or clears ('arg' omitted) a TLS setting. An unknown
// name or a non-string name or arg does nothing. Always undefined. The settings are copied at
// each mqtt.connect(): later calls do not affect a client already created (nor its
// reconnections).
func (m *module) set(call goja.FunctionCall) goja.Value {
	name, value, ok := settingArgs(call.Argument(0), call.Argument(1))
	if !ok {
		return goja.Undefined()
	}
	switch name {
	case mqttcore.SettingCA:
		m.settings.CA = value
	case mqttcore.SettingCert:
		m.settings.Cert = value
	case mqttcore.SettingKey:
		m.settings.Key = value
	}
	return goja.Undefined()
}

// tlsSettings returns the script's settings with the Config overrides applied.
func (m *module) tlsSettings() mqttcore.TLSSettings {
	t := m.settings
	if m.cfg.SSL.CA != "" {
		t.CA = m.cfg.SSL.CA
	}
	if m.cfg.SSL.Cert != "" {
		t.Cert = m.cfg.SSL.Cert
	}
	if m.cfg.SSL.Key != "" {
		t.Key = m.cfg.SSL.Key
	}
	return t
}

// post runs job on the loop with the job firewall (firewall.go). It reports false once the loop
// has ended, when job is dropped. Safe from any goroutine.
func (m *module) post(name string, job func(vm *goja.Runtime) error) bool {
	return m.l.Post(m.jobFirewall(name, job))
}

// deliver is post for the session's event and completion callbacks, which the host's executor
// runs (on the loop, or after the run on the executor's fallback goroutine). On the loop it runs
// job at once, inside the executor's loop job, instead of queueing a second loop job: same
// order, one round less. Jobs posted from inside job are queued as usual. Call it only from
// such a callback.
func (m *module) deliver(name string, job func(vm *goja.Runtime) error) {
	e := m.exec
	if e == nil || !e.inline {
		m.post(name, job)
		return
	}
	e.inline = false
	if err := m.jobFirewall(name, job)(m.vm); err != nil && e.err == nil {
		e.err = err
	}
}

// stop is the loop's stop hook: it ends every session not yet released and waits, up to
// Config.StopTimeout in total, for their release (DISCONNECT sent, network closed). Loop only.
func (m *module) stop() {
	m.stopped = true
	var pending []*client
	for c := range m.clients {
		// End again even a client already ending: its release notification may be sitting
		// in the loop's queue, which will not run again. mqttcore delivers the release of a
		// repeated End once more, now through the after-the-loop path of the Executor
		// (NewHost), which closes releasedCh.
		c.ending = true
		c.sess.End(c.onReleased)
		pending = append(pending, c)
	}
	if len(pending) == 0 {
		return
	}
	timeout := time.NewTimer(m.cfg.StopTimeout)
	defer timeout.Stop()
wait:
	for _, c := range pending {
		select {
		case <-c.releasedCh:
		case <-timeout.C:
			m.log.Warn("mqtt: sessions not released when the run ended", "timeout", m.cfg.StopTimeout)
			break wait
		}
	}
	for _, c := range pending {
		delete(m.clients, c)
		c.handle.Release()
	}
}
