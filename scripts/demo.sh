#!/usr/bin/env bash
# One command on a fresh machine: install what is missing, build, and train the built-in
# demo (a small GPT-2 on a generated corpus, on the CPU, about two minutes).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh"
cd "$root"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
exec mpiexec -n "${ZT_RANKS:-1}" "$root/build/zerotune" train "$@"
