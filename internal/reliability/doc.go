// Package reliability holds devicejs's network reliability suite (issue 6): broker restarts,
// cut links, half-open links, reconnect timing, re-entrancy, leaks, a hostile fake broker and
// the TLS matrix, run against both mosquitto and the embedded broker through
// internal/faultproxy. The tests are in _test.go files; the figures they measure are
// reported in docs/reliability.md. The soak (issue 6 item 16) runs only with DEVICEJS_SOAK=1
// (make soak).
package reliability
