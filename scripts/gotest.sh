#!/usr/bin/env bash
# gotest.sh: the default test suite as `make test` runs it (race detector, one package at a time,
# see the Makefile), followed by each package's time, slowest first, so that a package that
# slows the suite down is seen the day it does (issue 19). Exits with go test's status.
set -uo pipefail
GO=${GO:-go}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
"$GO" test -race -count=1 -p 1 -timeout 20m "$@" ./... 2>&1 | tee "$log"
rc=$?
echo
echo "== package times, slowest first"
awk '($1 == "ok" || $1 == "FAIL") && $3 ~ /^[0-9.]+s$/ {
	t = $3; sub(/s$/, "", t); s += t; n++
	printf "%8.1fs  %-4s %s\n", t, $1, $2 | "sort -rn | head -25"
} END { close("sort -rn | head -25"); printf "%8.1fs  in %d packages\n", s, n }' "$log"
exit $rc
