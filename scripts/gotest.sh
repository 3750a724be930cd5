#!/usr/bin/env bash
# gotest.sh: the default test suite as `make test` runs it (race detector, two packages at a
# time, see the Makefile), followed by each package's time, slowest first, so that a package
# that slows the suite down is seen the day it does (issue 19), and the suite's wall time.
# Exits with go test's status.
#
# GOTEST_P is go test's -p: how many packages build and run at once (2, the cores of the
# machine the suite's time target is set on; 1 runs them one at a time, as before 2026-12-05).
# Within cmd/devicejs/cli and report, the tests that time or measure a process run before the
# package's parallel tests start (docs/testing.md, "Suite time").
set -uo pipefail
GO=${GO:-go}
P=${GOTEST_P:-2}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
start=$(date +%s)
"$GO" test -race -count=1 -p "$P" -timeout 20m "$@" ./... 2>&1 | tee "$log"
rc=$?
wall=$(($(date +%s) - start))
echo
echo "== package times, slowest first"
awk '($1 == "ok" || $1 == "FAIL") && $3 ~ /^[0-9.]+s$/ {
	t = $3; sub(/s$/, "", t); s += t; n++
	printf "%8.1fs  %-4s %s\n", t, $1, $2 | "sort -rn | head -25"
} END { close("sort -rn | head -25"); printf "%8.1fs  in %d packages\n", s, n }' "$log"
echo "$(printf '%8ds' "$wall")  wall time of go test -p $P (builds included)"
exit $rc
