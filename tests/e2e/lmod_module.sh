#!/usr/bin/env bash
# The Lmod modulefile: `cmake --install` into a temporary prefix, then with Lmod
#   module use <prefix>/share/modulefiles; module load zerotune; zerotune --version
# runs the installed program, and the module's variables name the installed job scripts and
# configs; `module unload` takes it all back. Needs Lmod (tests/slurm/install-deps.sh).
set -euo pipefail

src=${ZEROTUNE_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
build=${ZEROTUNE_BUILD_DIR:-$src/build}
fail() {
  echo "FAIL: $*" >&2
  exit 1
}

lmod_init=""
for f in /usr/share/lmod/lmod/init/bash /usr/share/lmod/*/init/bash; do
  [[ -f $f ]] && { lmod_init=$f; break; }
done
[[ -n $lmod_init ]] || fail "Lmod not installed: run tests/slurm/install-deps.sh (apt-get install lmod)"

prefix=$(mktemp -d /tmp/zerotune-lmod.XXXXXX)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix" >"$prefix.install.log" 2>&1 ||
  { cat "$prefix.install.log"; fail "cmake --install failed"; }
rm -f "$prefix.install.log"
version=$(sed -n 's/^project(zerotune VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
modulefile=$prefix/share/modulefiles/zerotune/$version.lua
[[ -f $modulefile ]] || fail "no modulefile at $modulefile"

# A clean Lmod: no site module paths, nothing loaded.
unset MODULEPATH LOADEDMODULES _LMFILES_ ZEROTUNE_HOME ZEROTUNE_JOBS ZEROTUNE_CONFIGS
export LMOD_ALLOW_ROOT_USE=yes
set +u
# shellcheck disable=SC1090
source "$lmod_init"
module purge >/dev/null 2>&1 || true

module use "$prefix/share/modulefiles"
avail=$(module -t avail zerotune 2>&1)
grep -qx "zerotune/$version" <<<"$avail" || fail "module avail does not list zerotune/$version: $avail"
module load zerotune || fail "module load zerotune failed"
set -u

[[ $(command -v zerotune) == "$prefix/bin/zerotune" ]] ||
  fail "zerotune on PATH is $(command -v zerotune), not the installed $prefix/bin/zerotune"
out=$(zerotune --version) || fail "zerotune --version failed"
echo "$out"
[[ $out == "zerotune $version" ]] || fail "zerotune --version printed '$out', expected 'zerotune $version'"
[[ $ZEROTUNE_HOME == "$prefix" ]] || fail "ZEROTUNE_HOME=$ZEROTUNE_HOME, expected $prefix"
for f in common.sh baseline.slurm zero1.slurm zero2.slurm zero3.slurm offload.slurm \
  zero3_2node.slurm prep_data.slurm zerotune-srun; do
  [[ -f $ZEROTUNE_JOBS/$f ]] || fail "ZEROTUNE_JOBS=$ZEROTUNE_JOBS has no $f"
done
[[ -x $ZEROTUNE_JOBS/zero3_2node.slurm && -x $ZEROTUNE_JOBS/zerotune-srun ]] ||
  fail "installed job scripts lost their execute bit"
[[ -f $ZEROTUNE_CONFIGS/demo.yaml ]] || fail "ZEROTUNE_CONFIGS=$ZEROTUNE_CONFIGS has no demo.yaml"
module -t list 2>&1 | grep -qx "zerotune/$version" || fail "module list does not show zerotune/$version"

set +u
module unload zerotune
set -u
# (Lmod may also drop duplicate PATH entries: compare what matters.)
[[ :$PATH: != *":$prefix/bin:"* ]] || fail "module unload left $prefix/bin on PATH"
[[ $(command -v zerotune || true) != "$prefix/bin/zerotune" ]] || fail "zerotune still found after unload"
[[ -z ${ZEROTUNE_HOME:-} && -z ${ZEROTUNE_JOBS:-} && -z ${ZEROTUNE_CONFIGS:-} ]] ||
  fail "module unload left ZEROTUNE_* variables set"
# What a job script does on a cluster with Lmod (jobs/common.sh from the installed tree):
# `module load zerotune`, then the executable and the configs come from the module.
(
  set +u
  # shellcheck disable=SC1091
  source "$prefix/share/zerotune/jobs/common.sh"
  ZT_JOBS_DIR=$prefix/share/zerotune/jobs
  out=$(zt_load_module)
  zt_load_module >/dev/null
  [[ $out == "job: module load zerotune" ]] || fail "jobs/common.sh did not load the module: $out"
  zt_find_binary
  [[ $(command -v "$ZT_BIN") == "$prefix/bin/zerotune" ]] || fail "the job would run $(command -v "$ZT_BIN")"
  config=$(zt_find_config zero3.yaml)
  [[ $config == "$prefix/share/zerotune/configs/zero3.yaml" ]] || fail "the job would read config $config"
) || exit 1
echo "lmod module: load, run, unload, and a job script's module load ok"
