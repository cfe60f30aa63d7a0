#!/usr/bin/env bash
# The job scripts' srun --mpi plugin agrees with the MPI zerotune is linked with: MPICH with its
# own PMI (what spack.yaml builds: mpich pmi=default) -> pmi2, MPICH with PMIx and Open MPI ->
# pmix; ZT_SRUN_MPI wins when set.
source "$(dirname "$0")/lib/common.sh"
# shellcheck disable=SC1091
source "$SRC/jobs/common.sh"

detect_with() {  # detect_with "ldd output": what zt_detect_srun_mpi says for a binary linking it
  ldd() { printf '%s\n' "$fake_ldd"; }
  fake_ldd=$1 ZT_BIN=bash zt_detect_srun_mpi
  unset -f ldd
}
[ "$(detect_with '	libmpich.so.12 => /usr/lib/libmpich.so.12')" = pmi2 ] || fail "Debian MPICH: not pmi2"
[ "$(detect_with '	libmpi.so.12 => /spack/mpich/lib/libmpi.so.12')" = pmi2 ] || fail "Spack MPICH: not pmi2"
[ "$(detect_with $'	libmpi.so.12 => /x/libmpi.so.12\n	libpmix.so.2 => /x/libpmix.so.2')" = pmix ] ||
  fail "MPICH with PMIx: not pmix"
[ "$(detect_with '	libmpi.so.40 => /usr/lib/libmpi.so.40')" = pmix ] || fail "Open MPI: not pmix"
[ "$(ZT_BIN=/no/such/zerotune zt_detect_srun_mpi)" = pmix ] || fail "unknown binary: not pmix"

# This build's own MPI: Debian's MPICH here.
if ldd "$ZT" | grep -q 'libmpich\.so\.12'; then
  [ "$(ZT_BIN=$ZT zt_detect_srun_mpi)" = pmi2 ] || fail "this build links MPICH, detection says otherwise"
fi

# spack.yaml builds MPICH with the PMI that detection maps to pmi2.
grep -Eq '^\s*-?\s*zerotune .*\^mpich( |$)' "$SRC/spack.yaml" || fail "spack.yaml no longer builds ^mpich"
pmi=$(sed -n 's/.*mpich.*pmi=\([a-z0-9]*\).*/\1/p' "$SRC/spack.yaml" | head -1)
case ${pmi:-default} in
  default | pmi | pmi2) ;;
  *) fail "spack.yaml builds mpich pmi=$pmi; the job scripts expect PMI-2 from MPICH without PMIx" ;;
esac
pass "srun --mpi follows the linked MPI (spack.yaml mpich pmi=${pmi:-default} -> pmi2)"
