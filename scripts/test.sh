#!/usr/bin/env bash
# One command on a fresh machine: install what is missing (test tools included), build,
# and run the whole test suite.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/install-deps.sh" --tests
"$root/scripts/build.sh"
cd "$root/build"
ctest --output-on-failure --timeout 1500 "$@"
