#!/usr/bin/env bash
# Configures and builds zerotune into build/ (Release, tests included).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
jobs="$(nproc 2>/dev/null || echo 2)"
extra=()
# cudnn-frontend headers fetched by scripts/fetch-cudnn-frontend.sh (for the cuDNN attention).
if [[ -d "$root/.cudnn-frontend/include" ]]; then
  extra+=("-DCUDNN_FRONTEND_INCLUDE_DIR=$root/.cudnn-frontend/include")
fi
cmake -S "$root" -B "$root/build" -DCMAKE_BUILD_TYPE=Release -DZEROTUNE_TESTS=ON \
      -DZEROTUNE_PYTHON="$root/.venv/bin/python" "${extra[@]}" "$@" >/dev/null
cmake --build "$root/build" -j "$jobs"
