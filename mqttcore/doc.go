// Package mqttcore is the device's MQTT session, written over paho and free of goja.
//
// It has two halves. The value half (codes.go, errors.go, url.go, options.go, topic.go,
// limits.go, clock.go and tlsconfig.go) holds the device's error codes, the argument validation
// of the device spec (docs/device-semantics.md, "Validation") and the TLS configuration; it is
// plain data and pure functions, safe from any goroutine. The session half (host.go,
// session*.go) runs the connection state machine over paho.
//
// Why one package of about 4k lines (over the 2.5k the codebase aims for): both halves are
// the device's semantics of one spec, and the session half's guards (guardread.go,
// packetacks.go, inboundcheck.go, packettrace.go: the packet bounds and acknowledgement checks in front of
// paho) share the session's private state and its goroutine rule; the value half is what the
// bindings and the static checker (internal/check) import, so splitting it out would rename
// every exported error and option. The files are the boundary instead.
//
// Validation never panics: an out-of-range value is reported as an [*ArgError] naming the
// offending field by its spec (JavaScript) option name, and errors.Is(err, IllegalArgument)
// holds for every such error. Wrong JavaScript types are the binding's concern.
package mqttcore
