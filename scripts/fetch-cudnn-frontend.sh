#!/usr/bin/env bash
# Fetches NVIDIA's header-only cudnn-frontend (the graph API the cuDNN attention is built on)
# from its PyPI wheel and unpacks the headers into .cudnn-frontend/include, where CMake and
# scripts/build.sh look for them. Needs pip (any Python 3 with pip) and network access to PyPI.
#   scripts/fetch-cudnn-frontend.sh [VERSION]     e.g. 1.32.0; default: the newest release
# Without it the build still works: attention falls back to zerotune's own kernel.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$root/.cudnn-frontend"
spec="nvidia-cudnn-frontend${1:+==$1}"

python=""
for candidate in "$root/.venv/bin/python" python3 python; do
  if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -m pip --version >/dev/null 2>&1; then
    python="$candidate"
    break
  fi
done
if [[ -z "$python" ]]; then
  echo "fetch-cudnn-frontend: pip not found. Install pip (e.g. 'python3 -m ensurepip --user'" \
       "or your distribution's python3-pip), or copy the include/ directory of" \
       "https://github.com/NVIDIA/cudnn-frontend to $dest/include, or configure with" \
       "-DCUDNN_FRONTEND_INCLUDE_DIR=<dir holding cudnn_frontend.h>." >&2
  exit 1
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$python" -m pip download --quiet --no-deps --dest "$work" "$spec"
wheel="$(ls "$work"/nvidia_cudnn_frontend-*.whl | head -n 1)"
"$python" -m zipfile -e "$wheel" "$work/wheel"
if [[ ! -f "$work/wheel/include/cudnn_frontend.h" ]]; then
  echo "fetch-cudnn-frontend: $(basename "$wheel") holds no include/cudnn_frontend.h" >&2
  exit 1
fi
rm -rf "$dest/include"
mkdir -p "$dest"
cp -r "$work/wheel/include" "$dest/include"
version="$(sed -n 's/^#define CUDNN_FRONTEND_\(MAJOR\|MINOR\|PATCH\)_VERSION \([0-9]*\).*/\2/p' \
           "$dest/include/cudnn_frontend_version.h" | paste -sd.)"
echo "cudnn-frontend $version headers in $dest/include"
