package bindings_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/devicejs/devicejs/bindings"
	"github.com/devicejs/devicejs/internal/syncbuf"
	"github.com/devicejs/devicejs/internal/testbroker"
	"github.com/devicejs/devicejs/runtime"
)

// TestErrnoConnectRefused: a connection to a closed port fails with an 'error' event (code 1)
// and errnoConnect 6.
func TestErrnoConnectRefused(t *testing.T) {
	src := `
var client = mqtt.connect('BROKER');
client.on('error', function(err) {
	print('error ' + err.code + ' ' + err.message + ' errno ' + client.get('errnoConnect'));
	print('connected ' + client.isConnected() + ' reconnecting ' + client.isReconnecting() + ' canPublish ' + client.canPublish());
	client.end(function() { print('released'); });
});
client.on('connect', function() { print('unexpected connect'); });
`
	out := env{Broker: testbroker.DeadAddr(t)}.mustRun(t, src)
	want := "error 1 Connection failed errno 6\nconnected false reconnecting false canPublish false\nreleased\n"
	if out != want {
		t.Errorf("output:\n%s\nwant:\n%s", out, want)
	}
}

// TestSessionLimit: the device has one session resource. A second connect gives undefined
// while the first client is open; in the first client's end callback connect works again.
// (Right after .end() it usually still fails, but the release is asynchronous: not asserted.)
func TestSessionLimit(t *testing.T) {
	src := `
var a = mqtt.connect('BROKER');
var b = mqtt.connect('BROKER');
print('second ' + b);
a.on('connect', function() {
	print('a connected');
	a.end(function() {
		print('a released');
		var c = mqtt.connect('BROKER');
		print('third ' + (c ? 'client' : c));
		c.on('connect', function() {
			print('c connected');
			c.end(function() { print('c released'); });
		});
	});
});
`
	out := env{Broker: startBroker(t)}.mustRun(t, src)
	want := "second undefined\na connected\na released\nthird client\nc connected\nc released\n"
	if out != want {
		t.Errorf("output:\n%s\nwant:\n%s", out, want)
	}
}

// TestEventOrder: events run on the loop in the order they happened: a manual reconnect while
// connected gives close, reconnect, connect; end gives 'end' at once and the end callback once
// the resource is released; a second end() callback runs too; refused requests after end.
func TestEventOrder(t *testing.T) {
	src := `
var client = mqtt.connect('BROKER', {reconnectPeriod: 1000});
var connects = 0;
['connect', 'reconnect', 'close', 'error', 'end', 'message'].forEach(function(e) {
	client.on(e, function(x) {
		// The state is printed only where no race with the network can change it.
		var state = (e === 'connect' || e === 'end' || e === 'close') ?
			' connected=' + client.isConnected() + ' reconnecting=' + client.isReconnecting() : '';
		print(e + (x && x.code !== undefined ? ' ' + x.code : '') + state);
		if (e === 'connect' && ++connects === 1) {
			client.reconnect();
		} else if (e === 'connect') {
			client.end(function() { print('end callback 1'); });
			client.end(function() { print('end callback 2'); });
			var r = client.publish('t', 'm', function() { print('CALLED'); });
			print('publish after end ' + r.code);
			client.reconnect();
			print('after end connected=' + client.isConnected());
		}
	});
});
`
	out := env{Broker: startBroker(t)}.mustRun(t, src)
	want := `connect connected=true reconnecting=false
close connected=false reconnecting=true
reconnect
connect connected=true reconnecting=false
publish after end 11
after end connected=false
end connected=false reconnecting=false
end callback 1
end callback 2
`
	if out != want {
		t.Errorf("output:\n%s\nwant:\n%s", out, want)
	}
}

// TestHandlerReplaced: .on registers one handler per event; a later one replaces it, and the
// handler runs with the Client as this.
func TestHandlerReplaced(t *testing.T) {
	src := `
var client = mqtt.connect('BROKER');
client.on('connect', function() { print('first'); });
client.on('connect', function() {
	print('second ' + (this === client));
	client.end();
});
`
	out := env{Broker: startBroker(t)}.mustRun(t, src)
	if out != "second true\n" {
		t.Errorf("output %q, want %q", out, "second true\n")
	}
}

// TestHandlerException: a JS exception thrown in an event handler ends the run as an uncaught
// error (a *runtime.ScriptError with the script position), and the stop hook still ends the
// session (goleak in TestMain).
func TestHandlerException(t *testing.T) {
	src := `
var client = mqtt.connect('BROKER');
client.on('connect', function() {
	print('connected');
	throw new Error('boom in connect');
});
setInterval(function() {}, 1000);
`
	out, err := env{Broker: startBroker(t)}.run(t, src)
	var se *runtime.ScriptError
	if !errors.As(err, &se) {
		t.Fatalf("err = %v (%T), want *runtime.ScriptError", err, err)
	}
	if !strings.Contains(se.Message, "boom in connect") || se.Line != 5 {
		t.Errorf("ScriptError = %q at line %d, want boom in connect at line 5", se.Message, se.Line)
	}
	if out != "connected\n" {
		t.Errorf("output %q", out)
	}
}

// TestCallbackException: the same for a completion callback and an end callback.
func TestCallbackException(t *testing.T) {
	tt := []struct{ name, body, msg string }{
		{"subscribe", `client.subscribe('t', function() { throw new Error('sub cb'); });`, "sub cb"},
		{"publish", `client.publish('t', 'm', function() { throw 'pub cb'; });`, "pub cb"},
		{"end", `client.end(function() { throw new TypeError('end cb'); });`, "end cb"},
	}
	addr := startBroker(t)
	for _, tc := range tt {
		t.Run(tc.name, func(t *testing.T) {
			src := `var client = mqtt.connect('BROKER');
client.on('connect', function() { ` + tc.body + ` });
setInterval(function() {}, 1000);
`
			_, err := env{Broker: addr}.run(t, src)
			var se *runtime.ScriptError
			if !errors.As(err, &se) || !strings.Contains(se.Message, tc.msg) {
				t.Fatalf("err = %v, want a ScriptError about %q", err, tc.msg)
			}
		})
	}
}

// TestStopEndsSessions: a run ended from outside (the CLI's --for) ends the open session with
// a DISCONNECT, waits for its release and leaves no goroutine (goleak in TestMain).
func TestStopEndsSessions(t *testing.T) {
	addr, hook := startBrokerHook(t)
	start := time.Now()
	out, err := env{Broker: addr, For: 300 * time.Millisecond}.run(t, `
var client = mqtt.connect('BROKER');
client.on('connect', function() { print('connected'); });
client.on('end', function() { print('end must not run after the loop stopped'); });
`)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want context.DeadlineExceeded", err)
	}
	if out != "connected\n" {
		t.Errorf("output %q", out)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("run took %v after --for", d)
	}
	select {
	case cause := <-hook.disconnects:
		if cause != nil { // mochi reports nil after a DISCONNECT packet, an error after a drop
			t.Errorf("the client left without DISCONNECT: %v", cause)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the broker never saw the client leave")
	}
}

// TestRoutedVerbatimURL: the host's Dial routes 'mqtt://foo.bar' (as written in the samples)
// to the test broker.
func TestRoutedVerbatimURL(t *testing.T) {
	out := env{RouteTo: startBroker(t)}.mustRun(t, `
var client = mqtt.connect('mqtt://foo.bar');
client.on('connect', function() {
	print('CONNECTED');
	client.end();
});
`)
	if out != "CONNECTED\n" {
		t.Errorf("output %q", out)
	}
}

// TestLoggerReasons: Config.Logger gets the reason a call was refused at debug level.
func TestLoggerReasons(t *testing.T) {
	var logs syncbuf.Buffer
	e := env{Broker: testbroker.DeadAddr(t)}
	e.Config.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e.mustRun(t, `
var a = mqtt.connect('BROKER', {reconnectCount: 1000});
var b = mqtt.connect('BROKER');
var c = mqtt.connect('BROKER');
b.end();
`)
	for _, want := range []string{"illegal argument reconnectCount", "no MQTT session resource"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs.String())
		}
	}
}

// TestStopAfterQueuedRelease: the run is stopped while the release notification of an ended
// client sits in the loop's queue (the script spins in a handler, so the queue never runs
// again). The stop hook must still learn of the release at once rather than wait out its
// timeout.
func TestStopAfterQueuedRelease(t *testing.T) {
	start := time.Now()
	out, err := env{Broker: startBroker(t), For: 300 * time.Millisecond}.run(t, `
var client = mqtt.connect('BROKER');
client.on('connect', function() {
	print('connected');
	client.end(function() { print('end callback must not run'); });
	for (;;) {}
});
`)
	if !errors.Is(err, context.DeadlineExceeded) || out != "connected\n" {
		t.Fatalf("err = %v, output %q", err, out)
	}
	if d := time.Since(start); d > 300*time.Millisecond+bindings.DefaultStopTimeout/2 {
		t.Errorf("run took %v: the stop hook waited for a release that had already happened", d)
	}
}
