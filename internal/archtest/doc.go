// Package archtest holds no code: its test checks the import rules of docs/architecture.md
// for every package of the module (which devicejs packages each may import directly, and
// which third-party stacks it must not reach at all), so that a new import that crosses a
// boundary, or a new package without a rule, fails the suite the day it is written.
// It is the one import test of the module: the per-package tests it replaced (runtime,
// runtime/sandbox, internal/gojainternal, internal/isolation) checked a subset of its rules.
package archtest
