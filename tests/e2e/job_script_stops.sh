#!/usr/bin/env bash
# The job scripts' decision after the training step (jobs/common.sh), for every way a run
# ends, with SLURM's answers as `scontrol show job` and `srun --mpi=list` give them (SLURM
# 22.05; tests/e2e/slurm_stops.sh runs the same cases on a real cluster):
#   exit 85 / requeue=yes -> requeue            SIGTERM stop + PreemptTime set -> requeue
#   SIGTERM or Ctrl-C stop, no cause -> stopped SIGTERM stop + time limit -> requeue
#   srun's own failure before the run started -> launch (one line naming ZT_SRUN_MPI)
source "$(dirname "$0")/lib/common.sh"
# shellcheck disable=SC1091
source "$SRC/jobs/common.sh"

expect() {  # expect WORD RC STATUS CAUSE SIGNALLED
  local want=$1 got
  shift
  got=$(zt_step_outcome "$@")
  [ "$got" = "$want" ] || fail "zt_step_outcome rc=$1 status='$2' cause='$3' signalled='$4': $got, expected $want"
}
expect finished 0 "finished step=40" "" ""
expect finished 0 "" "" ""
expect requeue 85 "stopped step=7 exit=85 requeue=yes" "" USR1
expect requeue 0 "stopped step=7 exit=85 requeue=yes" "" USR1  # mpiexec lost the 85
expect requeue 85 "" "" USR1                                    # a stop before the run started
expect stopped 143 "stopped step=7 exit=143 requeue=no" "" TERM  # scancel
expect stopped 0 "stopped step=7 exit=143 requeue=no" "" TERM
expect stopped 130 "stopped step=7 exit=130 requeue=no" "" ""    # Ctrl-C
expect requeue 143 "stopped step=7 exit=143 requeue=no" preemption ""
expect requeue 143 "stopped step=7 exit=143 requeue=no" "time limit" TERM
expect failed 3 "failed exit=3 reason=disk full" "" ""
expect failed 2 "" "" ""                                         # a config error: no directory
expect failed 137 "running" "" ""                                # a rank killed
expect failed 137 "" "" TERM                                     # killed at KillWait during start-up
expect launch 1 "" "" ""                                         # srun --mpi=<plugin that cannot load>
expect launch 255 "" "" ""

# zt_stop_cause reads `scontrol show job` (fields as SLURM 22.05 prints them).
scontrol() {
  case $fake_job in
    running) echo "   JobState=RUNNING Reason=None Dependency=(null)
   PreemptEligibleTime=2026-11-30T07:07:57 PreemptTime=None" ;;
    preempted) echo "   JobState=RUNNING Reason=None Dependency=(null)
   StartTime=2026-11-30T07:07:57 EndTime=2026-11-30T07:12:57 Deadline=N/A
   PreemptEligibleTime=2026-11-30T07:07:57 PreemptTime=2026-11-30T07:07:58" ;;
    preempted_before_requeue) echo "   JobState=RUNNING Reason=None Dependency=(null)
   StartTime=2026-11-30T07:09:10 EndTime=2026-11-30T07:14:10 Deadline=N/A
   PreemptEligibleTime=2026-11-30T07:09:10 PreemptTime=2026-11-30T07:07:58" ;;
    cancelled) echo "   JobState=COMPLETING Reason=None Dependency=(null)" ;;
    timeout) echo "   JobState=COMPLETING Reason=TimeLimit Dependency=(null)" ;;
    gone) return 1 ;;
  esac
}
export SLURM_JOB_ID=42
for case in running:"" preempted:preemption preempted_before_requeue:"" cancelled:"" \
  timeout:"time limit" gone:""; do
  fake_job=${case%%:*}
  [ "$(zt_stop_cause)" = "${case#*:}" ] || fail "zt_stop_cause for a $fake_job job: '$(zt_stop_cause)'"
done
unset -f scontrol

# The plugins srun offers, from `srun --mpi=list`'s own layout.
srun() {
  printf 'MPI plugin types are...\n\tpmix\n\tnone\n\tcray_shasta\n\tpmi2\nspecific pmix plugin versions available: pmix_v4\n'
}
[ "$(zt_srun_mpi_plugins)" = "pmix none cray_shasta pmi2" ] || fail "srun --mpi=list: '$(zt_srun_mpi_plugins)'"
unset -f srun

# RUN_DIR/status counts only when this start wrote it (a requeued job's directory holds the
# previous start's).
mkdir -p "$SCRATCH/run"
echo "stopped step=3 exit=85 requeue=yes" > "$SCRATCH/run/status"
touch -d '@1000' "$SCRATCH/run/status"
[ -z "$(zt_fresh_status "$SCRATCH/run" 2000)" ] || fail "an old status counted as this start's"
touch -d '@3000' "$SCRATCH/run/status"
[ "$(zt_fresh_status "$SCRATCH/run" 2000)" = "stopped step=3 exit=85 requeue=yes" ] || fail "a fresh status was not read"
[ -z "$(zt_fresh_status "$SCRATCH/none" 2000)" ] || fail "a missing status gave a line"
[ -z "$(zt_fresh_status "" 2000)" ] || fail "no run directory gave a line"
pass "job scripts: requeue, stop for good, preemption, time limit, launch failure decided as documented"
