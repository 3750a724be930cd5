// Package conformance runs the device vendor's six documented samples, verbatim, through the real
// devicejs binary against real brokers (in-process mochi and Debian's mosquitto) in the scenarios a
// device meets: broker up, broker down from the start, broker killed and restarted mid-run, wrong
// password and wrong CA. The scenarios and their expected output live in the test files; see
// docs/conformance.md for the table and how each expectation follows from the spec.
package conformance
