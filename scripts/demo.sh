#!/usr/bin/env bash
# Fulcrum's main job on its embedded default: build, generate a week of the
# demo world, ingest it into SQLite (demo/fulcrum.db) and print the KPI
# overview per city. Extra arguments go to `fulcrum demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh build
cmake --preset release >/dev/null
cmake --build --preset release
build/release/fulcrum demo "$@"
echo
echo "The fulcrum binary is build/release/fulcrum; 'build/release/fulcrum --help' lists its commands."
