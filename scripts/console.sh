#!/usr/bin/env bash
# Build the web console into console/dist (served by `fulcrum serve` at /).
# Installs the npm packages of console/package-lock.json (npm ci) when
# console/node_modules is missing or the lock changed since, then bundles
# with esbuild. Usage: scripts/console.sh [--dev]   (--dev: not minified)
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root/console"

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    echo "console: node and npm are needed: run scripts/deps.sh" >&2
    exit 1
fi

stamp=node_modules/.package-lock.sha256
want="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ ! -d node_modules ] || [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "console: installing the npm packages (npm ci)" >&2
    npm ci --no-audit --no-fund --loglevel=error
    echo "$want" > "$stamp"
fi

node build.mjs "$@"
echo "console: built into $root/console/dist (FULCRUM_CONSOLE defaults to it)"
