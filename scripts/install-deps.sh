#!/usr/bin/env bash
# Installs what zerotune needs on Debian/Ubuntu (no-op for what is present).
#   scripts/install-deps.sh          build dependencies
#   scripts/install-deps.sh --tests  also the test tools: Python reference venv (.venv), SLURM, Lmod
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
with_tests=0
[ "${1:-}" = "--tests" ] && with_tests=1

sudo_cmd=""
[ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"

packages=(build-essential cmake pkg-config mpich libmpich-dev libhdf5-mpich-dev libyaml-dev
          libspdlog-dev libboost-test-dev libopenblas-dev nlohmann-json3-dev libpcre2-dev
          liburing-dev)
if [ "$with_tests" = 1 ]; then
  packages+=(python3-venv gnuplot-nox)
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing: ${missing[*]}"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ "$with_tests" = 1 ]; then
  # A real SLURM (two slurmd on this machine) and Lmod for the end-to-end tests.
  "$root/tests/slurm/install-deps.sh"
  # Reference implementations for the tests only: zerotune itself never needs Python.
  if [ ! -x "$root/.venv/bin/python" ] || ! "$root/.venv/bin/python" -c "import torch, transformers, tokenizers, h5py, safetensors" 2>/dev/null; then
    python3 -m venv "$root/.venv"
    "$root/.venv/bin/pip" install -q --disable-pip-version-check -r "$root/tests/python/requirements.txt"
  fi
fi
