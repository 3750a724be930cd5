// Package conformance runs the device vendor's six documented samples, verbatim, through the real
// devicejs binary against real brokers in the scenarios a device meets: broker up, broker down from
// the start, broker killed and restarted mid-run, wrong password and wrong CA.
//
// The scenarios and their expected output (scenarios.go) are shared by two runners: the test
// suite (in-process mochi and Debian's mosquitto, through internal/testbroker) and the
// `devicejs conformance` command (embedded brokers it controls, or the user's own broker, where
// the scenarios that need control of the broker are skipped). See docs/conformance.md for the
// table and how each expectation follows from the spec.
package conformance
