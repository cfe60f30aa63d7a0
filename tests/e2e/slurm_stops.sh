#!/usr/bin/env bash
# Every way SLURM or a user stops a zerotune job, on the real test cluster (docs/slurm.md,
# "Which stop does what"):
#   - srun --mpi=<a plugin that does not load>: one line saying the launch failed, naming
#     ZT_SRUN_MPI and the plugins `srun --mpi=list` offers
#   - `scancel <job>`: checkpoint, exit 143, RUN_DIR/status requeue=no, the job ends CANCELLED
#   - preemption (a job in the higher-tier partition urgent, GraceTime on debug): checkpoint,
#     the script sees PreemptTime and requeues; the requeued run resumes; a later scancel
#     still ends it for good
#   - an interactive srun step: `scancel --signal=TERM <job>.<step>` checkpoints (exit 143),
#     so does SIGTERM to jobs/zerotune-srun (srun itself turns SIGTERM into SIGKILL), and
#     SIGUSR1 to srun (exit 85)
# SIGUSR1 to the batch shell and the time-limit warning: slurm_preempt_requeue.sh.
# shellcheck source=../slurm/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../slurm/lib.sh"
slurm_test_begin
[[ -x $zt_bin ]] || fail "zerotune not built: $zt_bin"
mkdir -p "$zt_work/logs"
cfg=$zt_src/tests/slurm/cpu_tiny.yaml
cpu_args=(--gpus-per-node=0 --nodes=2 --ntasks-per-node=1 --cpus-per-task=1 --time=10)
# Runs until stopped; every step logged, checkpoints only at a stop.
train_set="model.n_embd=128 model.seq_len=128 train.micro_batch_size=4 train.max_steps=100000 \
log.every_n_steps=1 checkpoint.every_n_steps=0"
submit_training() { # submit_training JOB_NAME [SBATCH_ARGS...]
  local name=$1
  shift
  ZT_BIN=$zt_bin ZT_CONFIG=$cfg ZT_SRUN_MPI=${srun_mpi:-pmi2} ZT_RUN_ROOT=$zt_work/runs \
    ZT_SET=$train_set submit "${cpu_args[@]}" --job-name="$name" "$@" "$zt_src/jobs/zero3.slurm"
}
# stopped_step RUN_DIR CODE REQUEUE: the step of a "stopped" status with that code.
stopped_step() {
  local status
  status=$(cat "$1/status" 2>/dev/null || true)
  [[ $status =~ ^stopped\ step=([0-9]+)\ exit=$2\ requeue=$3$ ]] ||
    fail "$1/status is '$status', expected 'stopped step=N exit=$2 requeue=$3'"
  ((BASH_REMATCH[1] >= 3)) || fail "$1: stopped at step ${BASH_REMATCH[1]}, before the stop"
  echo "${BASH_REMATCH[1]}"
}

note "launch failure: ZT_SRUN_MPI names a plugin that does not load"
id=$(srun_mpi=no_such_plugin submit_training badmpi)
state=$(wait_job "$id" 60)
out=$zt_work/logs/badmpi-$id.out
cat "$out"
[[ $state == FAILED ]] || fail "the job with a bad --mpi plugin ended $state"
grep -q "^job: error: the launch failed: srun --mpi=no_such_plugin exited with code [1-9]" "$out" ||
  fail "no 'the launch failed' line"
[[ $(grep -c "the launch failed" "$out") == 1 ]] || fail "not one line about the launch"
grep "the launch failed" "$out" | grep -q "ZT_SRUN_MPI" || fail "the line does not name ZT_SRUN_MPI"
grep "the launch failed" "$out" | grep -Eq "offers here: .*pmi2" || fail "the line does not list srun --mpi=list"

note "scancel: checkpoint, exit 143, no requeue"
id=$(submit_training cancelled)
out=$zt_work/logs/cancelled-$id.out
wait_line "$out" '^step=3/' 120
scancel "$id"
state=$(wait_job "$id" 60)
cat "$out"
[[ $state == CANCELLED ]] || fail "scancel: the job ended $state, expected CANCELLED"
[[ $(job_field "$id" Restarts) == 0 ]] || fail "scancel: the job was requeued"
step=$(stopped_step "$zt_work/runs/cancelled-$id" 143 no)
grep -q "^checkpoint saved at step $step (reason: stopped)" "$out" || fail "scancel: no checkpoint at step $step"
grep -q "^job: stopped for good after a checkpoint" "$out" || fail "scancel: no 'stopped for good' line"
grep -q "scontrol requeue $id (restart" "$out" && fail "scancel: the script requeued the job"

note "preemption: SIGTERM with GraceTime, the script requeues, the run resumes; then scancel ends it"
id=$(submit_training preempted --exclusive)
out=$zt_work/logs/preempted-$id.out
wait_line "$out" '^step=3/' 120
submit --partition=urgent --exclusive --nodes=2 --ntasks=2 --time=1 --job-name=urgent \
  --output="$zt_work/logs/urgent-%j.out" --wrap "sleep 1" >/dev/null
wait_line "$out" '^resumed from step [0-9]+' 120
saved=$(sed -n 's/^checkpoint saved at step \([0-9]*\) (reason: stopped).*/\1/p' "$out" | head -n 1)
[[ -n $saved ]] || fail "preemption: no checkpoint before the requeue"
grep -q "^job: SLURM is ending the job (preemption) and the run stopped with a checkpoint" "$out" ||
  fail "preemption: the script did not see the preemption"
grep -Eq "^resumed from step $saved( |$)" "$out" || fail "preemption: did not resume from step $saved"
wait_line "$out" "^step=$((saved + 2))/" 120
scancel "$id"
state=$(wait_job "$id" 60)
cat "$out"
[[ $state == CANCELLED && $(job_field "$id" Restarts) == 1 ]] ||
  fail "preempted then cancelled: ended $state after $(job_field "$id" Restarts) restarts, expected CANCELLED after 1"
stopped_step "$zt_work/runs/preempted-$id" 143 no >/dev/null

note "interactive srun: scancel --signal=TERM <job>.0, SIGTERM to jobs/zerotune-srun, SIGUSR1 to srun"
run_dir=$zt_work/interactive
set_args=()
for item in $train_set; do set_args+=(--set "$item"); done
# launch NAME LAUNCHER... -- TRAIN_ARGUMENTS...: zerotune train in the background; sets pid.
launch() {
  local name=$1
  shift
  local launcher=()
  while [[ $1 != -- ]]; do
    launcher+=("$1")
    shift
  done
  shift
  "${launcher[@]}" "$zt_bin" train --config "$cfg" "${set_args[@]}" --run-dir "$run_dir" "$@" \
    >"$zt_work/$name.out" 2>&1 &
  pid=$!
}
# finish NAME CODE: waits for the launcher, checks its code; prints the stopped step.
finish() {
  local rc
  set +e; wait "$pid"; rc=$?; set -e
  cat "$zt_work/$1.out" >&2
  ((rc == $2)) || fail "$1: exit $rc, expected $2"
}
name=srun-term-$$
launch "$name" srun "${cpu_args[@]}" --mpi=pmi2 --job-name="$name" --
wait_line "$zt_work/$name.out" '^step=3/' 120
job=$(squeue -h -n "$name" -o %i | head -n 1)
[[ -n $job ]] || fail "$name: no job in squeue"
scancel --signal=TERM "$job.0"
finish "$name" 143
step=$(stopped_step "$run_dir" 143 no)

name=wrapper-term-$$
ZT_SRUN_MPI=pmi2 launch "$name" "$zt_src/jobs/zerotune-srun" "${cpu_args[@]}" -- --resume auto
wait_line "$zt_work/$name.out" "^step=$((step + 2))/" 120
kill -TERM "$pid"
finish "$name" 143
grep -Eq "^resumed from step $step( |\$)" "$zt_work/$name.out" || fail "$name: no resume from step $step"
grep -q "^zerotune-srun: SIGTERM: scancel --signal=TERM " "$zt_work/$name.out" ||
  fail "$name: the wrapper did not hand SIGTERM to the step"
step=$(stopped_step "$run_dir" 143 no)

name=srun-usr1-$$
launch "$name" srun "${cpu_args[@]}" --mpi=pmi2 -- --resume auto
wait_line "$zt_work/$name.out" "^step=$((step + 2))/" 120
kill -USR1 "$pid"
finish "$name" 85
grep -Eq "^resumed from step $step( |\$)" "$zt_work/$name.out" || fail "$name: no resume from step $step"
stopped_step "$run_dir" 85 yes >/dev/null
echo "PASS: launch failure named ZT_SRUN_MPI; scancel stopped for good; preemption requeued and resumed; interactive steps checkpointed"
