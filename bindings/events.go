package bindings

import (
	"github.com/dop251/goja"

	"github.com/devicejs/devicejs/mqttcore"
	"github.com/devicejs/devicejs/runtime/sandbox"
)

// event is one of the six Client events of the spec.
type event int

const (
	evConnect event = iota
	evReconnect
	evClose
	evError
	evEnd
	evMessage
	numEvents
)

// eventNames are the JS names of the events, indexed by event.
var eventNames = [numEvents]string{
	evConnect:   "connect",
	evReconnect: "reconnect",
	evClose:     "close",
	evError:     "error",
	evEnd:       "end",
	evMessage:   "message",
}

// eventJobNames name the loop jobs of the events (firewall logs), built once rather than per
// message.
var eventJobNames = func() (n [numEvents]string) {
	for e, name := range eventNames {
		n[e] = "'" + name + "' event"
	}
	return n
}()

// events returns the session's event sink. Each function runs wherever the Host's Executor
// runs it; it only copies its arguments into Go values and posts a loop job that builds the
// JS values and calls the handler registered at that moment (none: the event is dropped).
func (c *client) events() mqttcore.Events {
	return mqttcore.Events{
		Connect: func(ack mqttcore.Connack) {
			c.emit(evConnect, func(vm *goja.Runtime) []goja.Value {
				return []goja.Value{connackObject(vm, ack)}
			})
		},
		Reconnect: func() { c.emit(evReconnect, nil) },
		Close:     func() { c.emit(evClose, nil) },
		Error: func(code mqttcore.Code) {
			c.emit(evError, func(vm *goja.Runtime) []goja.Value {
				return []goja.Value{mqttError(vm, code)}
			})
		},
		End: func() { c.emit(evEnd, nil) },
		Message: func(topic string, payload []byte, binary bool) {
			if binary {
				data := append([]byte{}, payload...)
				c.emit(evMessage, func(vm *goja.Runtime) []goja.Value {
					return []goja.Value{vm.ToValue(topic), vm.ToValue(sandbox.NewArrayBuffer(vm, data))}
				})
				return
			}
			text := string(payload) // UTF-8; invalid sequences become U+FFFD in JS
			c.emit(evMessage, func(vm *goja.Runtime) []goja.Value {
				return []goja.Value{vm.ToValue(topic), vm.ToValue(text)}
			})
		},
	}
}

// emit dispatches e on the loop; args (nil: no arguments) builds the handler's arguments
// there. The handler is called with the Client object as this. The session calls it through
// the host's executor (module.deliver).
func (c *client) emit(e event, args func(vm *goja.Runtime) []goja.Value) {
	c.m.deliver(eventJobNames[e], func(vm *goja.Runtime) error {
		h := c.handlers[e]
		if h == nil {
			return nil
		}
		var argv []goja.Value
		if args != nil {
			argv = args(vm)
		}
		_, err := h.fn(c.obj, argv...)
		return err
	})
}

// connackObject is the 'connect' handler's argument: {sessionPresent, returnCode}.
func connackObject(vm *goja.Runtime, ack mqttcore.Connack) *goja.Object {
	o := vm.NewObject()
	_ = o.DefineDataProperty("sessionPresent", vm.ToValue(ack.SessionPresent), goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_TRUE)
	_ = o.DefineDataProperty("returnCode", vm.ToValue(int(ack.ReturnCode)), goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_TRUE)
	return o
}

// mqttError builds an MqttError: a plain object {code, message} with the spec's message for
// code. Each call gives a fresh object. The properties are defined (not assigned), so setters
// a script put on Object.prototype never run.
func mqttError(vm *goja.Runtime, code mqttcore.Code) *goja.Object {
	o := vm.NewObject()
	_ = o.DefineDataProperty("code", vm.ToValue(int(code)), goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_TRUE)
	_ = o.DefineDataProperty("message", vm.ToValue(code.Message()), goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_TRUE)
	return o
}
