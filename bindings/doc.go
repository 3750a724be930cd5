// Package bindings installs the device's global `mqtt` object into a runtime.Loop.
//
// It is the thin JavaScript layer over mqttcore (the k6 "mapping" shape): every JS-visible
// function is an explicit func(goja.FunctionCall) goja.Value that reads its arguments with the
// helpers of args.go, never throws for bad input (the device API answers with undefined or an
// MqttError object instead) and sits behind a panic firewall (firewall.go). The JS API and every
// interpretation of the device spec made here are documented in docs/api.md.
//
// Goroutines: only the loop goroutine touches goja values. mqttcore events and completions
// arrive through the Host's Executor as Go values. With a Host made by NewHost (and registered
// on the same loop) they are delivered inside the executor's loop job; with any other Host they
// are posted onto the loop as jobs of their own. Either way the JS values are built on the loop,
// handlers run in event order, and a JS exception thrown by a handler is returned from the loop
// job, which ends the run as an uncaught error.
package bindings
