// Package mqttcore is the device's MQTT session, written over paho and free of goja.
//
// It has two halves. The value half (codes.go, errors.go, url.go, options.go, topic.go,
// limits.go, clock.go and tlsconfig.go) holds the device's error codes, the argument validation
// of the device spec (docs/device-semantics.md, "Validation") and the TLS configuration; it is
// plain data and pure functions, safe from any goroutine. The session half (host.go,
// session*.go) runs the connection state machine over paho.
//
// Validation never panics: an out-of-range value is reported as an [*ArgError] naming the
// offending field by its spec (JavaScript) option name, and errors.Is(err, IllegalArgument)
// holds for every such error. Wrong JavaScript types are the binding's concern.
package mqttcore
