#!/usr/bin/env bash
# The Spack package and environment, checked without Spack (not installable here): package.py
# compiles, declares every dependency the CMake build looks for, maps +cuda/cuda_arch;
# spack.yaml and spack/repo.yaml parse and list the GPU cluster stack.
set -euo pipefail
src=${ZEROTUNE_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
# A Python with PyYAML: Debian's python3-yaml (tests/slurm/install-deps.sh), or the test venv.
for py in /usr/bin/python3 python3 "$src/.venv/bin/python"; do
  if "$py" -c "import yaml" 2>/dev/null; then
    exec "$py" "$src/tests/spack/check_spack.py" "$src"
  fi
done
echo "FAIL: no Python with PyYAML: apt-get install python3-yaml" >&2
exit 1
