// Package types holds no Go code: it is the home of devicejs.d.ts and devicejs-test.d.ts,
// the TypeScript declarations of the device API and of the test API for editors, and of the
// Go test that checks them with tsc against the samples and the spec's examples.
package types
