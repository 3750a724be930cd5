#!/usr/bin/env bash
# Installs what the test suite needs beyond Go, only where it is missing: Debian's mosquitto and
# mosquitto-clients (the real broker and independent peers), chromium (the report tests) and the TypeScript compiler pinned in
# types/package-lock.json (the editor typings check). `make test` runs it first; .ci/run installs
# the same things explicitly.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "test-deps: need root (or sudo) to run: $*" >&2; return 1; fi
}

have_mosquitto() {
  { command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ]; } && command -v mosquitto_sub >/dev/null
}

if ! have_mosquitto; then
  echo "test-deps: installing mosquitto and mosquitto-clients"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y mosquitto mosquitto-clients
fi
# Headless Chromium opens the HTML reports in the report tests (report/, cmd/devicejs/cli).
if ! command -v chromium >/dev/null; then
  echo "test-deps: installing chromium"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium
fi
if [ ! -x types/node_modules/.bin/tsc ]; then
  if ! command -v npm >/dev/null; then
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y nodejs npm
  fi
  echo "test-deps: installing the TypeScript compiler (types/package-lock.json)"
  npm ci --prefix types --no-audit --no-fund
fi
go mod download
