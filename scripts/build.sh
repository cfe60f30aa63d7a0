#!/usr/bin/env bash
# Configures and builds zerotune into build/ (Release, tests included).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
jobs="$(nproc 2>/dev/null || echo 2)"
cmake -S "$root" -B "$root/build" -DCMAKE_BUILD_TYPE=Release -DZEROTUNE_TESTS=ON \
      -DZEROTUNE_PYTHON="$root/.venv/bin/python" "$@" >/dev/null
cmake --build "$root/build" -j "$jobs"
