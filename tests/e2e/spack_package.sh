#!/usr/bin/env bash
# The Spack package and environment, checked without Spack (CI has none): package.py
# compiles, declares every dependency the CMake build looks for, maps +cuda/cuda_arch;
# spack.yaml and spack/repo.yaml parse and list the GPU cluster stack.
set -euo pipefail
src=${ZEROTUNE_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
# A Python with PyYAML: Debian's python3-yaml (tests/slurm/install-deps.sh), or the test venv.
python=""
for py in /usr/bin/python3 python3 "$src/.venv/bin/python"; do
  if "$py" -c "import yaml" 2>/dev/null; then
    python=$py
    break
  fi
done
[[ -n $python ]] || { echo "FAIL: no Python with PyYAML: apt-get install python3-yaml" >&2; exit 1; }
"$python" "$src/tests/spack/check_spack.py" "$src"

# Where a real Spack is installed (not on CI): the environment concretizes as it is and the
# package passes Spack's audit. The environment is concretized in a copy of the checkout's
# Spack files, so that no spack.lock or .spack-env is left in the source tree.
if ! command -v spack >/dev/null 2>&1; then
  echo "spack not on PATH: concretize and audit skipped"
  exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$src/spack.yaml" "$work/" && cp -r "$src/spack" "$work/spack"
sed -i "s|^      path: \.$|      path: $src|" "$work/spack.yaml"
spack -e "$work" concretize --fresh > "$work/concretize.out" 2>&1 ||
  { tail -30 "$work/concretize.out"; echo "FAIL: spack concretize" >&2; exit 1; }
grep -q 'pmi=default' "$work/concretize.out" || echo "note: concretized MPICH is not pmi=default"
spack -e "$work" audit packages zerotune || { echo "FAIL: spack audit packages zerotune" >&2; exit 1; }
echo "spack concretize and audit: ok"
