#!/usr/bin/env bash
# The whole test suite, under AddressSanitizer and UndefinedBehaviorSanitizer,
# with warnings as errors.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh test
cmake --preset asan >/dev/null
cmake --build --preset asan
scripts/console.sh # the console the browser test (tests/browser) opens
ctest --preset asan -j "$(nproc)"
