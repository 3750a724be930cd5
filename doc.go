// Package devicejs runs a device script (ES5 JavaScript written against a device firmware's
// `mqtt` object) inside a Go program: the embedding API behind `devicejs run`.
//
//	res, err := devicejs.Run(ctx, devicejs.Script{Name: "device.js", Source: src}, devicejs.Config{
//		Stdout: os.Stdout,
//		Broker: "127.0.0.1:1883",
//		For:    time.Minute,
//	})
//
// A Device is one independent runtime: its own goja VM and event loop, its own `mqtt` object
// with its own mqtt.set() settings, session resource and limits, and its own counters. There is
// no package-level mutable state, so any number of Devices can run in one process, each on its
// own goroutines; a New is cheap (no goroutine, no socket, until Run). See docs/embedding.md.
package devicejs
