package bindings

import (
	"errors"
	"sync"
	"unsafe"

	"github.com/dop251/goja"
	"github.com/dop251/goja/unistring"

	"github.com/devicejs/devicejs/internal/gojainternal"
	"github.com/devicejs/devicejs/mqttcore"
	"github.com/devicejs/devicejs/runtime"
)

// client is the Go side of one JS Client object: one mqttcore session. Loop only, except
// releasedCh and releaseOnce.
type client struct {
	m      *module
	obj    *goja.Object
	sess   *mqttcore.Session
	handle *runtime.Handle // keeps the loop alive until the session is released

	handlers [numEvents]*callback // one per event; .on() replaces
	ending   bool                 // .end() was called (or the run is stopping)
	released bool                 // the session resource is free; end callbacks have run
	endCbs   []*callback          // .end() callbacks waiting for the release

	releaseOnce sync.Once
	releasedCh  chan struct{} // closed on release; any goroutine
}

func newClient(m *module) *client {
	return &client{m: m, releasedCh: make(chan struct{})}
}

// A clientMethod is one of the spec's {Client} methods: its name, the answer it gives after a
// recovered panic (the firewall, firewall.go) and its Go implementation.
type clientMethod struct {
	name    string
	onPanic fallback
	fn      func(*client, goja.FunctionCall) goja.Value
	tmpl    *gojainternal.FuncTemplate // its JS function's name and length, built on first use
}

// clientMethods are the spec's {Client} methods, in the spec's order. mapping_test.go checks
// that the JS object has exactly these.
var clientMethods = [...]clientMethod{
	{"on", returnUndefined, (*client).on, nil},
	{"publish", returnOtherError, (*client).publish, nil},
	{"subscribe", returnOtherError, (*client).subscribe, nil},
	{"unsubscribe", returnOtherError, (*client).unsubscribe, nil},
	{"end", returnUndefined, (*client).endMethod, nil},
	{"reconnect", returnUndefined, (*client).reconnect, nil},
	{"isConnected", returnFalse, (*client).isConnected, nil},
	{"isReconnecting", returnFalse, (*client).isReconnecting, nil},
	{"canPublish", returnFalse, (*client).canPublish, nil},
	{"get", returnUndefined, (*client).get, nil},
}

// clientMethodNames are clientMethods' names, in order (the Client object's keys).
var clientMethodNames = make([]unistring.String, len(clientMethods))

func init() {
	for i := range clientMethods {
		clientMethods[i].tmpl = gojainternal.NewFuncTemplate(clientMethods[i].name, 0)
		clientMethodNames[i] = unistring.NewFromString(clientMethods[i].name)
	}
}

// object builds the JS Client object: its methods are own data properties (writable,
// enumerable, configurable, in the spec's order), each built when the script first touches it
// (gojainternal.NewLazyObject: a device that only calls .on pays for one function, not ten).
// Each method's native function is one closure over c and its table entry, behind the firewall
// as m.firewall would put it.
func (c *client) object() (*goja.Object, error) {
	vm := c.m.vm
	c.obj = gojainternal.NewLazyObject(vm, clientMethodNames, func(i int) goja.Value {
		cm := &clientMethods[i]
		return cm.tmpl.New(vm, c.method(cm))
	})
	return c.obj, nil
}

// method is the native function of cm for c: cm.fn behind the panic firewall, logged as
// ".name".
func (c *client) method(cm *clientMethod) func(goja.FunctionCall) goja.Value {
	return func(call goja.FunctionCall) (ret goja.Value) {
		defer func() {
			if r := recover(); r != nil {
				ret = c.m.recovered("."+cm.name, cm.onPanic, r)
			}
		}()
		return cm.fn(c, call)
	}
}

// on is .on(event, callback): registers callback for event, replacing any handler registered
// before for that event. An unknown event or a non-function callback does nothing.
func (c *client) on(call goja.FunctionCall) goja.Value {
	e, ok := eventArg(call.Argument(0))
	if !ok {
		return goja.Undefined()
	}
	cb, ok := handlerArg(call.Argument(1))
	if !ok {
		return goja.Undefined()
	}
	c.handlers[e] = cb
	c.m.l.HeapRoot(uintptr(unsafe.Pointer(&c.handlers[e])), cb.obj) // DeviceMemory's estimate sees it
	return goja.Undefined()
}

// publish is .publish(topic, message[, options][, callback]).
func (c *client) publish(call goja.FunctionCall) goja.Value {
	vm := c.m.vm
	topic, ok := topicArg(call.Argument(0))
	if !ok {
		return mqttError(vm, mqttcore.IllegalArgument)
	}
	payload, ok := messageArg(vm, call.Argument(1))
	if !ok {
		return mqttError(vm, mqttcore.IllegalArgument)
	}
	opts, cb, ok := publishArgs(vm, call.Argument(2), call.Argument(3))
	if !ok {
		return mqttError(vm, mqttcore.IllegalArgument)
	}
	return c.refusal(c.sess.Publish(topic, payload, opts, c.done(".publish callback", cb)))
}

// subscribe is .subscribe(topic[, options][, callback]).
func (c *client) subscribe(call goja.FunctionCall) goja.Value {
	vm := c.m.vm
	topic, ok := topicArg(call.Argument(0))
	if !ok {
		return mqttError(vm, mqttcore.IllegalArgument)
	}
	opts, cb, ok := subscribeArgs(vm, call.Argument(1), call.Argument(2))
	if !ok {
		return mqttError(vm, mqttcore.IllegalArgument)
	}
	return c.refusal(c.sess.Subscribe(topic, opts, c.done(".subscribe callback", cb)))
}

// unsubscribe is .unsubscribe(topic[, callback]).
func (c *client) unsubscribe(call goja.FunctionCall) goja.Value {
	vm := c.m.vm
	topic, ok := topicArg(call.Argument(0))
	if !ok {
		return mqttError(vm, mqttcore.IllegalArgument)
	}
	cb, ok := optionalCallback(call.Argument(1))
	if !ok {
		return mqttError(vm, mqttcore.IllegalArgument)
	}
	return c.refusal(c.sess.Unsubscribe(topic, c.done(".unsubscribe callback", cb)))
}

// refusal maps a session method's result to the JS return value: undefined when the request
// was accepted, the MqttError when it was refused.
func (c *client) refusal(err error) goja.Value {
	if err == nil {
		return goja.Undefined()
	}
	c.m.log.Debug("mqtt: request refused", "err", err)
	return mqttError(c.m.vm, codeOf(err))
}

// codeOf returns the MqttError code carried by err (mqttcore returns a Code or an error
// wrapping one), or OtherError.
func codeOf(err error) mqttcore.Code {
	var code mqttcore.Code
	if errors.As(err, &code) {
		return code
	}
	return mqttcore.OtherError
}

// done returns the completion function handed to the session: it calls cb (if any) on the
// loop with the MqttError for the result. The session calls it through the host's executor.
func (c *client) done(name string, cb *callback) func(mqttcore.Code) {
	return func(code mqttcore.Code) {
		if cb == nil {
			return
		}
		c.m.deliver(name, func(vm *goja.Runtime) error {
			_, err := cb.fn(c.obj, mqttError(vm, code))
			return err
		})
	}
}

// endMethod is .end([callback]): starts ending the session ('end' event now, DISCONNECT);
// callback runs once the session resource is released. Calling it again only adds the
// callback (which runs at once, asynchronously, if the resource is already free). A non-function
// callback makes the call do nothing.
func (c *client) endMethod(call goja.FunctionCall) goja.Value {
	cb, ok := optionalCallback(call.Argument(0))
	if !ok {
		return goja.Undefined()
	}
	c.end(cb)
	return goja.Undefined()
}

// end implements .end; cb may be nil.
func (c *client) end(cb *callback) {
	if c.released {
		if cb != nil {
			c.m.post(".end callback", func(*goja.Runtime) error {
				_, err := cb.fn(c.obj)
				return err
			})
		}
		return
	}
	if cb != nil {
		c.endCbs = append(c.endCbs, cb)
	}
	if c.ending {
		return
	}
	c.ending = true
	c.sess.End(c.onReleased)
}

// onReleased is the session's release notification. Safe from any goroutine: it closes
// releasedCh (for the stop hook) and posts the loop side (end callbacks, handle release).
func (c *client) onReleased() {
	c.releaseOnce.Do(func() {
		close(c.releasedCh)
		c.m.post(".end callback", c.releasedOnLoop)
	})
}

// releasedOnLoop runs the end callbacks and lets the loop end once nothing else is pending.
func (c *client) releasedOnLoop(*goja.Runtime) error {
	c.released = true
	delete(c.m.clients, c)
	defer c.handle.Release()
	cbs := c.endCbs
	c.endCbs = nil
	for _, cb := range cbs {
		if _, err := cb.fn(c.obj); err != nil {
			return err
		}
	}
	return nil
}

// reconnect is .reconnect(): asks the session to reconnect now (ignored once ending).
func (c *client) reconnect(goja.FunctionCall) goja.Value {
	if !c.ending {
		c.sess.Reconnect()
	}
	return goja.Undefined()
}

// isConnected is .isConnected().
func (c *client) isConnected(goja.FunctionCall) goja.Value {
	return c.m.vm.ToValue(c.sess.IsConnected())
}

// isReconnecting is .isReconnecting().
func (c *client) isReconnecting(goja.FunctionCall) goja.Value {
	return c.m.vm.ToValue(c.sess.IsReconnecting())
}

// canPublish is .canPublish().
func (c *client) canPublish(goja.FunctionCall) goja.Value {
	return c.m.vm.ToValue(c.sess.CanPublish())
}

// get is .get(name): 'errnoConnect' gives the last connection error number; anything else is
// undefined.
func (c *client) get(call goja.FunctionCall) goja.Value {
	name, ok := infoNameArg(call.Argument(0))
	if !ok || name != "errnoConnect" {
		return goja.Undefined()
	}
	return c.m.vm.ToValue(int(c.sess.ErrnoConnect()))
}
