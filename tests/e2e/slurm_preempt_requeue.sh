#!/usr/bin/env bash
# Preemption as SLURM does it: a running job's batch shell gets SIGUSR1
# (`scancel --signal=USR1 --batch`, what --signal=B:USR1@N sends before the time limit),
# jobs/common.sh forwards it to the srun step, the program checkpoints and exits 85, the job
# script runs `scontrol requeue`, and the requeued job (same id, same .out, appended) resumes
# from the checkpoint. With zerotune, the resumed run's losses must equal an uninterrupted
# run's. Needs tests/slurm/install-deps.sh; starts tests/slurm/cluster.sh unless it is up.
# shellcheck source=../slurm/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../slurm/lib.sh"
slurm_test_begin
probe=$(build_probe)
mkdir -p "$zt_work/logs"

# The CPU test cluster has no GPUs and no pmix; 2 nodes x 1 rank.
cpu_args=(--gpus-per-node=0 --nodes=2 --ntasks-per-node=1 --cpus-per-task=1 --time=10)

# check_preempted_story OUT_FILE: the .out of a job stopped once and requeued once.
check_preempted_story() {
  local out=$1
  grep -q "^job: received SIGUSR1" "$out" || fail "the batch shell did not report SIGUSR1"
  local saved
  saved=$(sed -n 's/^checkpoint saved at step \([0-9]*\) (reason: preempted).*/\1/p' "$out" | head -n 1)
  [[ -n $saved ]] || fail "no 'checkpoint saved at step N (reason: preempted)' line"
  grep -q "^job: stopped early; scontrol requeue " "$out" ||
    fail "exit code 85 did not lead to scontrol requeue"
  grep -Eq "^resumed from step $saved( |$)" "$out" ||
    fail "the requeued run did not report 'resumed from step $saved'"
  # Appended, in order: the first run's lines, then the requeued run's.
  local first_saved first_resumed
  first_saved=$(grep -n "^checkpoint saved at step $saved " "$out" | head -n 1 | cut -d: -f1)
  first_resumed=$(grep -En "^resumed from step $saved( |$)" "$out" | head -n 1 | cut -d: -f1)
  ((first_saved < first_resumed)) || fail "the .out was not appended across the requeue"
  [[ $(grep -c "^job: job .* restart 1 " "$out") == 1 ]] || fail "expected exactly one restart"
  echo "$saved"
}

# Submitted first, checked last (it runs about a minute): a job that never finishes by itself,
# with a 1 minute limit, gets SIGUSR1 45 s before the limit from SLURM itself, checkpoints
# and is requeued; the requeued run resumes, is warned again, and ZT_MAX_REQUEUES=1 stops it.
tl_id=$(ZT_BIN=$probe ZT_CONFIG=$zt_src/configs/demo.yaml ZT_SRUN_MPI=pmi2 ZT_RUN_ROOT=$zt_work/runs \
  ZT_SET="train.max_steps=100000" ZT_MAX_REQUEUES=1 \
  submit "${cpu_args[@]}" --time=1 --signal=B:USR1@45 --job-name=timelimit "$zt_src/jobs/zero3.slurm")
wait_timelimit_job() {
  local state out=$zt_work/logs/timelimit-$tl_id.out
  state=$(wait_job "$tl_id" 200)
  cat "$out"
  grep -q "^job: received SIGUSR1" "$out" || fail "SLURM did not warn the time-limited job with SIGUSR1"
  local saved
  saved=$(sed -n 's/^checkpoint saved at step \([0-9]*\) (reason: preempted).*/\1/p' "$out" | head -n 1)
  [[ -n $saved ]] || fail "the time-limited job did not checkpoint on the warning"
  grep -Eq "^resumed from step $saved( |$)" "$out" || fail "the requeued time-limited job did not resume"
  grep -q "^job: stopped early; already requeued 1 times (ZT_MAX_REQUEUES), giving up" "$out" ||
    fail "ZT_MAX_REQUEUES=1 did not stop the second requeue"
  grep -q "DUE TO TIME LIMIT" "$out" && fail "SLURM killed the job at its time limit: the warning came too late"
  [[ $state == FAILED && $(job_field "$tl_id" ExitCode) == 85:0 ]] ||
    fail "the time-limited job ended $state $(job_field "$tl_id" ExitCode), expected FAILED 85:0"
  echo "time limit: warned, checkpointed at step $saved, requeued, resumed, warned again, gave up"
}

note "probe job: SIGUSR1 to the batch shell -> checkpoint, exit 85, requeue, resume"
id=$(ZT_BIN=$probe ZT_CONFIG=$zt_src/configs/demo.yaml ZT_SRUN_MPI=pmi2 \
  ZT_RUN_ROOT=$zt_work/runs ZT_SET="train.max_steps=40" \
  submit "${cpu_args[@]}" "$zt_src/jobs/zero3.slurm")
out_file=$zt_work/logs/zero3-$id.out
wait_line "$out_file" '^step=3/40 ' 60
scancel --signal=USR1 --batch "$id"
state=$(wait_job "$id" 120)
cat "$out_file"
[[ $state == COMPLETED ]] || fail "job $id ended $state"
[[ $(job_field "$id" Restarts) == 1 ]] || fail "job $id was not requeued exactly once"
saved=$(check_preempted_story "$out_file")
((saved >= 3 && saved < 40)) || fail "checkpoint step $saved is not where the signal arrived"
[[ $(grep -c '^step=' "$out_file") == $((40 + 0)) ]] ||
  fail "steps before and after the requeue do not add up to 40"
grep -q "^train_summary steps=40" "$out_file" || fail "the requeued run did not finish"

note "zerotune: preempted and requeued ZeRO-3 run vs an uninterrupted one"
[[ -x $zt_bin ]] || fail "zerotune not built: $zt_bin"
# ~0.1 s a step on 2 cores, so the signal lands mid-run; checkpoints only at the stop and the end.
train_set="model.n_embd=128 model.seq_len=128 train.micro_batch_size=4 train.max_steps=100 \
log.every_n_steps=1 checkpoint.every_n_steps=0"
submit_training() { # submit_training JOB_NAME: jobs/zero3.slurm, the same config every time
  ZT_BIN=$zt_bin ZT_CONFIG=$zt_src/tests/slurm/cpu_tiny.yaml ZT_SRUN_MPI=pmi2 \
    ZT_RUN_ROOT=$zt_work/runs ZT_SET=$train_set \
    submit "${cpu_args[@]}" --job-name="$1" "$zt_src/jobs/zero3.slurm"
}
ref=$(submit_training reference)
id=$(submit_training preempted)
out_file=$zt_work/logs/preempted-$id.out
wait_line "$out_file" '^step=10/100 ' 120
scancel --signal=USR1 --batch "$id"
state=$(wait_job "$id" 240)
cat "$out_file"
[[ $state == COMPLETED ]] || fail "job $id ended $state"
[[ $(job_field "$id" Restarts) == 1 ]] || fail "job $id was not requeued exactly once"
saved=$(check_preempted_story "$out_file")
((saved >= 10 && saved < 100)) || fail "checkpoint step $saved is not where the signal arrived"
grep -q "^job: job $id restart 1 .* --resume auto " "$out_file" || fail "the requeued run did not use --resume auto"
grep -Eq "^topology .* job_id=$id restart_count=1( |\$)" "$out_file" ||
  fail "the requeued run does not see SLURM_RESTART_COUNT=1"
grep -Eq "^step=100/100 " "$out_file" || fail "the requeued run did not reach step 100"

ref_state=$(wait_job "$ref" 240)
[[ $ref_state == COMPLETED ]] || { cat "$zt_work/logs/reference-$ref.out"; fail "reference job $ref ended $ref_state"; }
[[ $(job_field "$ref" Restarts) == 0 ]] || fail "the reference job was restarted"
[[ -d $zt_work/runs/preempted-$id ]] || fail "no job directory runs/preempted-$id: the requeue changed it"
[[ $(find "$zt_work/runs" -maxdepth 1 -name 'preempted-*' | wc -l) == 1 ]] ||
  fail "the requeued run made a second job directory"
step_losses "$zt_work/runs/reference-$ref" >"$zt_work/reference.losses"
step_losses "$zt_work/runs/preempted-$id" >"$zt_work/preempted.losses"
[[ $(wc -l <"$zt_work/reference.losses") == 100 ]] || fail "the reference run logged $(wc -l <"$zt_work/reference.losses") steps, not 100"
diff "$zt_work/reference.losses" "$zt_work/preempted.losses" ||
  fail "per-step losses differ between the uninterrupted run and the run preempted at step $saved"

note "time limit: --signal=B:USR1@45 with --time=1 checkpoints before SLURM kills the job"
wait_timelimit_job
echo "PASS: preempted at step $saved, requeued as job $id, resumed; 100 losses equal the uninterrupted run's"
