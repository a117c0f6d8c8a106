#!/usr/bin/env bash
# Fulcrum's main job on its embedded default: build the binary and the web
# console, generate a week of the demo world, ingest and judge it into
# SQLite (demo/fulcrum.db), print the KPI overview per city, put pending work
# in the appeals queue, and serve the API and the console on 127.0.0.1
# (default port 8080) with the demo's tokens printed, until Ctrl-C.
# Extra arguments go to `fulcrum demo` (--no-serve: the overview only;
# --listen ADDR:PORT: another address).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh build
cmake --preset release >/dev/null
cmake --build --preset release
scripts/console.sh
echo "The fulcrum binary is build/release/fulcrum; 'build/release/fulcrum --help' lists its commands."
exec build/release/fulcrum demo "$@"
