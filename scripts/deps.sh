#!/usr/bin/env bash
# Install the Debian packages Fulcrum builds, tests and runs with.
# Usage: scripts/deps.sh [build|test|bench]   (test adds what the test suite needs,
# bench what the HTTP load benchmark needs)
set -euo pipefail

want=(build-essential cmake ninja-build pkg-config tzdata
      libsqlite3-dev libjansson-dev libyaml-dev libsodium-dev libcmocka-dev libmicrohttpd-dev)
if [ "${1:-build}" = test ]; then
    want+=(sqlite3 clang-format)
    want+=(chromium) # the browser test of the console (tests/browser), headless
fi
if [ "${1:-build}" = bench ]; then
    want+=(sqlite3 wrk)
fi
# The web console is built with Node and npm (scripts/console.sh): Debian's
# packages, unless a node and an npm are on PATH already.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    want+=(nodejs npm)
fi

missing=()
for p in "${want[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "Installing: ${missing[*]}" >&2
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
