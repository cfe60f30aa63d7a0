# Sourced by the SLURM end-to-end tests (tests/e2e/slurm_*.sh): the shared cluster, job
# polling, failure reports. Each test runs alone (a lock), starts the test cluster unless it
# is up, and stops it at exit if it started it.
set -euo pipefail

zt_src=${ZEROTUNE_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
# shellcheck disable=SC2034  # used by the tests that source this file
zt_bin=${ZEROTUNE_BINARY:-$zt_src/build/zerotune}
zt_cluster=$zt_src/tests/slurm/cluster.sh
zt_started=0    # 1 when this test started the cluster
zt_work=""

fail() {
  echo "FAIL: $*" >&2
  exit 1
}
note() { echo "== [${SECONDS}s] $*"; }

slurm_test_begin() {
  if ! command -v sbatch >/dev/null || ! command -v slurmctld >/dev/null; then
    fail "SLURM is not installed: run tests/slurm/install-deps.sh (as root)"
  fi
  # The SLURM tests share one cluster: one at a time, also under ctest -j.
  exec 7>/tmp/zerotune-slurm-tests.lock
  flock 7
  zt_work=$(mktemp -d /tmp/zerotune-slurm-test.XXXXXX)
  trap slurm_test_end EXIT
  if ! "$zt_cluster" status >/dev/null 2>&1; then
    "$zt_cluster" start 7>&-
    zt_started=1
  fi
  eval "$("$zt_cluster" env)"
  export SLURM_CONF
}

slurm_test_end() {
  local rc=$?
  set +e
  local id ids=()
  # The jobs this test submitted (submit runs in $(...) subshells, hence a file).
  [[ -f $zt_work/job_ids ]] && mapfile -t ids <"$zt_work/job_ids"
  for id in "${ids[@]}"; do scancel "$id" 2>/dev/null; done
  if ((rc != 0)); then
    echo "---- diagnostics (test failed with $rc) ----"
    local f
    for f in "$zt_work"/logs/*.out; do
      [[ -f $f ]] || continue
      echo "---- $f (last 40 lines)"
      tail -n 40 "$f"
    done
    for id in "${ids[@]}"; do scontrol show job "$id" 2>/dev/null | head -n 8; done
    local state_dir
    state_dir=$(dirname "$(dirname "${SLURM_CONF:-/nonexistent/x/y}")")
    for f in "$state_dir"/log/slurmctld.log "$state_dir"/log/slurmd-node1.log; do
      [[ -f $f ]] && { echo "---- $f (last 15 lines)"; tail -n 15 "$f"; }
    done
  fi
  if ((zt_started)); then "$zt_cluster" stop >/dev/null; fi
  if ((rc == 0)) || [[ -z ${ZT_KEEP_TEST_DIR:-} ]]; then
    rm -rf "$zt_work"
  else
    echo "kept $zt_work"
  fi
  exit "$rc"
}

# sbatch ARGS... : submit from the test's work directory; prints the job id.
submit() {
  local id
  id=$(cd "$zt_work" && sbatch --parsable "$@") || fail "sbatch $* was refused"
  id=${id%%;*}
  echo "$id" >>"$zt_work/job_ids"
  echo "$id"
}

job_field() { # job_field ID FIELD -> value of FIELD= in `scontrol show job`
  scontrol show job "$1" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n 1
}

# wait_job ID TIMEOUT_S: until the job has ended for good; prints its final state.
wait_job() {
  local id=$1 timeout=$2 waited=0 state
  while true; do
    state=$(job_field "$id" JobState)
    case $state in
      COMPLETED | FAILED | CANCELLED | TIMEOUT | NODE_FAIL | OUT_OF_MEMORY | BOOT_FAIL | DEADLINE)
        echo "$state"
        return 0
        ;;
    esac
    ((waited < timeout)) || fail "job $id not finished after ${timeout}s (state ${state:-unknown})"
    sleep 1
    waited=$((waited + 1))
  done
}

# wait_line FILE REGEX TIMEOUT_S: until a line of FILE matches.
wait_line() {
  local file=$1 regex=$2 timeout=$3 waited=0
  until [[ -f $file ]] && grep -Eq -- "$regex" "$file"; do
    ((waited < timeout * 5)) || fail "no line matching '$regex' in $file after ${timeout}s"
    sleep 0.2
    waited=$((waited + 1))
  done
}

# The probe MPI program (tests/slurm/mpi_probe.c), built into the work directory.
build_probe() {
  command -v mpicc >/dev/null || fail "mpicc not found: install mpich and libmpich-dev"
  mpicc -O1 -o "$zt_work/mpi_probe" "$zt_src/tests/slurm/mpi_probe.c" ||
    fail "mpicc could not build tests/slurm/mpi_probe.c"
  echo "$zt_work/mpi_probe"
}

source "$(dirname "${BASH_SOURCE[0]}")/../e2e/lib/metrics.sh"
