# Shared by the jobs/*.slurm scripts (sourced, not run): environment, the srun launch,
# forwarding of SLURM's warning signal to the training step, and the requeue decision.
# docs/slurm.md describes the ZT_* variables (and has the table of which stop does what);
# the defaults suit a GPU cluster.
#
# The story of a time-limited job:
#   1. SLURM sends SIGUSR1 to this batch shell (--signal=B:USR1@N, or by hand
#      `scancel --signal=USR1 --batch <job>`).
#   2. The trap below forwards it to srun, which passes SIGUSR1 on to every rank.
#   3. The trainer finishes its step, writes a checkpoint and exits with code 85 (requeue me).
#   4. This script runs `scontrol requeue $SLURM_JOB_ID`; the job goes back to the queue with
#      the same job id, so the same job directory, and appends to the same .out file.
#   5. The requeued run starts with `--resume auto` and continues from checkpoints/latest.
#
# SIGTERM means "stop for good" unless SLURM is preempting the job or its time limit is up:
#   - `scancel <job>`: SLURM sends SIGTERM to the ranks itself (and to this shell), SIGKILL
#     KillWait seconds later; the ranks checkpoint and exit 143; no requeue, the job ends.
#   - preemption with GraceTime: the ranks (not this shell) get SIGTERM, checkpoint and exit
#     143; `scontrol show job` then has a PreemptTime, so this script requeues the job (SLURM
#     itself does not when the job ends within its grace time).
#   - the time limit without the warning: JobState TIMEOUT / Reason TimeLimit: requeue.
# This shell never passes SIGTERM to srun: srun turns SIGTERM into SIGKILL of every task.

ZT_EXIT_REQUEUE=85

zt_log() { echo "job: $*"; }
zt_die() {
  echo "job: error: $1" >&2
  exit "${2:-2}"
}

# Lmod (or Environment Modules) where the site has it: `module load zerotune`. ZT_MODULE names
# the module (empty: load none). Batch shells are not login shells, so `module` may need Lmod's
# init file first; LMOD_PKG comes with the submitting shell's environment.
zt_load_module() {
  local name=${ZT_MODULE-zerotune}
  [[ -n $name ]] || return 0
  if ! type module >/dev/null 2>&1 && [[ -n ${LMOD_PKG:-} && -f $LMOD_PKG/init/bash ]]; then
    # shellcheck disable=SC1091
    source "$LMOD_PKG/init/bash"
  fi
  if type module >/dev/null 2>&1; then
    if module load "$name" >/dev/null 2>&1; then
      zt_log "module load $name"
    else
      zt_log "module $name not loaded (not found by \`module avail\`); using PATH and ZT_BIN"
    fi
  fi
}

# The zerotune executable: ZT_BIN, else `zerotune` on PATH (after module load).
zt_find_binary() {
  ZT_BIN=${ZT_BIN:-zerotune}
  if ! command -v "$ZT_BIN" >/dev/null 2>&1; then
    zt_die "zerotune executable '$ZT_BIN' not found: \`module load zerotune\`, put it on PATH or set ZT_BIN=/path/to/zerotune"
  fi
}

# A run config by file name: ZT_CONFIG if set, else the first <name> in $ZEROTUNE_CONFIGS
# (set by the module), the configs/ folder beside jobs/, or ./configs of the submit directory.
zt_find_config() {
  local name=$1 dir
  if [[ -n ${ZT_CONFIG:-} ]]; then
    [[ -f $ZT_CONFIG ]] || zt_die "ZT_CONFIG=$ZT_CONFIG: no such file"
    echo "$ZT_CONFIG"
    return
  fi
  for dir in "${ZEROTUNE_CONFIGS:-}" "$ZT_JOBS_DIR/../configs" "${SLURM_SUBMIT_DIR:-.}/configs"; do
    if [[ -n $dir && -f $dir/$name ]]; then
      echo "$dir/$name"
      return
    fi
  done
  zt_die "config $name not found in \$ZEROTUNE_CONFIGS, $ZT_JOBS_DIR/../configs or ./configs; set ZT_CONFIG=/path/to/config.yaml"
}

# Threads and devices for the ranks.
zt_setup_environment() {
  export OMP_NUM_THREADS=${OMP_NUM_THREADS:-${SLURM_CPUS_PER_TASK:-1}}
  # ZT_GPUS=0 runs on CPUs even where the nodes have GPUs.
  if [[ ${ZT_GPUS:-} == 0 ]]; then
    export CUDA_VISIBLE_DEVICES=""
  fi
  # srun from SLURM 22.05 on does not take --cpus-per-task from the allocation by itself.
  if [[ -n ${SLURM_CPUS_PER_TASK:-} ]]; then
    export SRUN_CPUS_PER_TASK=$SLURM_CPUS_PER_TASK
  fi
}

# Module, executable and environment: what every job script does first.
zt_prepare() {
  [[ -n ${SLURM_JOB_ID:-} ]] || zt_die "not inside a SLURM job: submit with sbatch"
  zt_load_module
  zt_find_binary
  zt_setup_environment
}

zt_srun_pid=""
zt_pending_signal=""
zt_signalled=""

# Trap: pass SIGUSR1 on to the running step (srun relays it to every task unchanged).
zt_forward_signal() {
  local sig=$1
  zt_signalled=$sig
  zt_log "received SIG$sig; asking the running step to checkpoint and stop (requeue)"
  if [[ -n $zt_srun_pid ]] && kill -0 "$zt_srun_pid" 2>/dev/null; then
    kill -s "$sig" "$zt_srun_pid" 2>/dev/null || true
  else
    zt_pending_signal=$sig
  fi
}

# Trap for SIGTERM: srun would turn it into SIGKILL of the tasks, so the step gets it from
# SLURM instead (`scancel --signal=TERM <job>` signals the job's steps, not this shell). When
# SLURM ends the job (scancel, time limit) it has signalled the steps already; the duplicate
# does no harm.
zt_on_term() {
  zt_signalled=TERM
  zt_log "received SIGTERM; asking the running step to checkpoint and stop"
  if [[ -n $zt_srun_pid ]] && kill -0 "$zt_srun_pid" 2>/dev/null; then
    scancel --quiet --signal=TERM "$SLURM_JOB_ID" 2>/dev/null || true
  else
    zt_pending_signal=TERM
  fi
}

# Why SLURM is ending this job, from `scontrol show job`: "preemption" (a PreemptTime is
# set: SLURM chose the job for preemption and sent its steps SIGTERM), "time limit"
# (JobState TIMEOUT or Reason TimeLimit), or nothing (running, or cancelled by a user:
# scancel leaves no mark but the state CANCELLED/COMPLETING). SLURM sets no environment
# variable for either, and the signal alone cannot tell them apart.
zt_stop_cause() {
  local fields
  fields=$(scontrol show job "${SLURM_JOB_ID:-}" 2>/dev/null | tr ' ' '\n') || return 0
  local preempt_time start_time
  preempt_time=$(sed -n 's/^PreemptTime=//p' <<<"$fields" | head -n 1)
  start_time=$(sed -n 's/^StartTime=//p' <<<"$fields" | head -n 1)
  # A preemption of this start, not of one before a requeue (ISO times compare as strings).
  if [[ -n $preempt_time && $preempt_time != None && $preempt_time != Unknown &&
    ! $preempt_time < ${start_time:-0} ]]; then
    echo preemption
  elif grep -Eq '^(JobState=TIMEOUT|Reason=TimeLimit)$' <<<"$fields"; then
    echo "time limit"
  fi
}

# zt_run_step COMMAND...: runs an srun command in the background, so that this shell takes
# SLURM's signals while it waits, and forwards them. Sets zt_step_rc to the command's exit
# code; when a signal came first, does not start it and sets 85 (SIGUSR1) or 143 (SIGTERM).
zt_run_step() {
  trap 'zt_forward_signal USR1' USR1
  trap 'zt_on_term' TERM
  if [[ -n $zt_pending_signal ]]; then
    zt_log "signalled before the step started; not starting it"
    if [[ $zt_pending_signal == USR1 ]]; then zt_step_rc=$ZT_EXIT_REQUEUE; else zt_step_rc=143; fi
    return
  fi
  "$@" &
  zt_srun_pid=$!
  if [[ $zt_pending_signal == USR1 ]]; then
    kill -s USR1 "$zt_srun_pid" 2>/dev/null || true
  elif [[ $zt_pending_signal == TERM ]]; then
    scancel --quiet --signal=TERM "$SLURM_JOB_ID" 2>/dev/null || true
  fi
  while true; do
    wait "$zt_srun_pid"
    zt_step_rc=$?
    # A trapped signal interrupts `wait`; keep waiting while srun runs.
    kill -0 "$zt_srun_pid" 2>/dev/null || break
  done
  zt_srun_pid=""
  trap - USR1 TERM
}

# The srun --mpi plugin that the MPI library zerotune is linked with speaks (docs/slurm.md,
# "PMIx or PMI2"): MPICH (libmpich.so.12 or libmpi.so.12) with its own PMI, as Debian's and
# Spack's default `mpich pmi=default` build it, speaks PMI-1 and PMI-2: pmi2. MPICH built with
# PMIx (links libpmix) and Open MPI (libmpi.so.40): pmix. Anything else: pmix.
zt_detect_srun_mpi() {
  local bin libs
  bin=$(command -v "${ZT_BIN:-zerotune}" 2>/dev/null) || { echo pmix; return; }
  libs=$(ldd "$bin" 2>/dev/null) || { echo pmix; return; }
  if grep -qE 'lib(mpich|mpi)\.so\.12' <<<"$libs" && ! grep -q 'libpmix\.so' <<<"$libs"; then
    echo pmi2
  else
    echo pmix
  fi
}

# srun with the MPI plugin the MPI speaks: ZT_SRUN_MPI, else zt_detect_srun_mpi. Exit codes
# pass through untouched.
zt_srun() {
  : "${ZT_SRUN_MPI:=$(zt_detect_srun_mpi)}"
  local cmd=(srun "--mpi=$ZT_SRUN_MPI" --kill-on-bad-exit=0)
  # shellcheck disable=SC2206
  cmd+=(${ZT_SRUN_ARGS:-})
  zt_run_step "${cmd[@]}" "$@"
}

# Requeue this job (same id, same job directory) unless ZT_REQUEUE=0 or ZT_MAX_REQUEUES is reached.
zt_requeue() {
  local restarts=${SLURM_RESTART_COUNT:-0}
  if [[ ${ZT_REQUEUE:-1} == 0 ]]; then
    zt_log "stopped early; ZT_REQUEUE=0, not requeueing (resubmit to continue)"
    exit "$ZT_EXIT_REQUEUE"
  fi
  if ((restarts >= ${ZT_MAX_REQUEUES:-50})); then
    zt_log "stopped early; already requeued $restarts times (ZT_MAX_REQUEUES), giving up"
    exit "$ZT_EXIT_REQUEUE"
  fi
  zt_log "stopped early; scontrol requeue $SLURM_JOB_ID (restart $((restarts + 1)))"
  if ! scontrol requeue "$SLURM_JOB_ID"; then
    zt_log "scontrol requeue failed: was the job submitted with --no-requeue? resubmit to continue"
    exit "$ZT_EXIT_REQUEUE"
  fi
  exit 0
}

# zt_run_dir TRAIN_ARGUMENTS...: the job directory of the resolved config,
# RUN_ROOT/RUN_NAME-SLURM_JOB_ID (empty when the config does not resolve).
zt_run_dir() {
  local yaml root name
  yaml=$(timeout 60 "$ZT_BIN" config "$@" 2>/dev/null) || return 0
  root=$(awk '/^run:/ {f = 1; next} /^[^ ]/ {f = 0} f && $1 == "root:" {print $2}' <<<"$yaml")
  name=$(awk '/^run:/ {f = 1; next} /^[^ ]/ {f = 0} f && $1 == "name:" {print $2}' <<<"$yaml")
  [[ -n $root && -n $name ]] || return 0
  echo "$root/$name-${SLURM_JOB_ID}"
}

# zt_fresh_status RUN_DIR SINCE: the run's own word on how it ended, RUN_DIR/status
# ("finished step=N", "stopped step=N exit=85 requeue=yes", "failed exit=C reason=..."), when
# this start wrote it (modified at or after SINCE, seconds since the epoch; a requeued job's
# directory holds the previous start's). Empty otherwise. A launcher's exit code alone is not
# enough: MPICH's mpiexec has returned 0 after every rank exited 85.
zt_fresh_status() {
  local file=$1/status since=$2 mtime
  [[ -n $1 && -f $file ]] || return 0
  mtime=$(stat -c %Y "$file" 2>/dev/null) || return 0
  ((mtime >= since)) || return 0
  head -n 1 "$file" 2>/dev/null || true
}

# The plugins `srun --mpi=list` offers, on one line.
zt_srun_mpi_plugins() {
  srun --mpi=list 2>&1 | sed -n 's/^[[:space:]]\{1,\}\([A-Za-z0-9_]\{1,\}\)$/\1/p' | tr '\n' ' ' |
    sed 's/ $//'
}

# zt_step_outcome RC STATUS CAUSE SIGNALLED: what to do after the training step, one word.
#   RC         srun's exit code            STATUS  zt_fresh_status (empty: none from this start)
#   CAUSE      zt_stop_cause               SIGNALLED  the signal this shell took (USR1, TERM, "")
# requeue   the run stopped with a checkpoint and asked for a requeue (85, requeue=yes), or it
#           stopped on SIGTERM while SLURM preempts the job or its time limit is up
# stopped   stopped for good after a checkpoint (SIGTERM from scancel, SIGINT): the job ends
# finished  the run finished
# launch    srun ended before zerotune started the run: no status from this start, no signal,
#           and a code zerotune does not use (srun's own 1, for instance a --mpi plugin that
#           cannot load)
# failed    anything else (2 input, 3 library, 4 peer rank failure, a killed rank, ...)
zt_step_outcome() {
  local rc=$1 status=$2 cause=$3 signalled=$4
  if ((rc == ZT_EXIT_REQUEUE)) || [[ $status == stopped*requeue=yes* ]]; then
    echo requeue
  elif [[ $status == stopped* ]] || ((rc == 130 || rc == 143)); then
    if [[ -n $cause ]]; then echo requeue; else echo stopped; fi
  elif [[ $status == finished* ]] || { ((rc == 0)) && [[ -z $status ]]; }; then
    echo finished
  elif [[ -z $status && -z $signalled ]] && ((rc != 2 && rc != 3 && rc != 4)); then
    echo launch
  else
    echo failed
  fi
}

# zt_train CONFIG_NAME [--set k=v]... -- [arguments given to the script by sbatch]
# Runs `zerotune train` on every task of the allocation, resuming from the job directory's
# latest checkpoint; requeues when the run asks for it (exit 85 or RUN_DIR/status) or when
# SLURM preempts the job or its time limit is up (zt_step_outcome).
zt_train() {
  local config_name=$1
  shift
  zt_prepare
  local config
  config=$(zt_find_config "$config_name") || exit $?

  local args=(train --config "$config" --resume auto)
  args+=(--set "run.name=${ZT_RUN_NAME:-$SLURM_JOB_NAME}")
  [[ -n ${ZT_RUN_ROOT:-} ]] && args+=(--set "run.root=$ZT_RUN_ROOT")
  if [[ -n ${ZT_TRAIN_FILE:-} ]]; then
    args+=(--set "data.train_file=$ZT_TRAIN_FILE")
  elif [[ -n ${ZT_DATA_DIR:-} ]]; then
    args+=(--set "data.train_file=$ZT_DATA_DIR/${ZT_DATASET:-wikitext-2}-train.h5")
  fi
  if [[ -n ${ZT_EVAL_FILE:-} ]]; then
    args+=(--set "data.eval_file=$ZT_EVAL_FILE")
  elif [[ -n ${ZT_DATA_DIR:-} ]]; then
    args+=(--set "data.eval_file=$ZT_DATA_DIR/${ZT_DATASET:-wikitext-2}-valid.h5")
  fi
  # The script's own settings (its ZeRO stage), then ZT_SET, then the sbatch command line's
  # arguments after the script name: a later --set of the same key wins.
  while (($# > 0)) && [[ $1 != -- ]]; do
    args+=("$1")
    shift
  done
  (($# > 0)) && shift
  local item
  for item in ${ZT_SET:-}; do args+=(--set "$item"); done
  args+=("$@")

  : "${ZT_SRUN_MPI:=$(zt_detect_srun_mpi)}"
  zt_log "job ${SLURM_JOB_ID} restart ${SLURM_RESTART_COUNT:-0} on ${SLURM_JOB_NUM_NODES:-1} node(s) ${SLURM_JOB_NODELIST:-}: srun --mpi=$ZT_SRUN_MPI $ZT_BIN ${args[*]}"
  local started run_dir status cause outcome
  # 5 s of slack for a shared file system's clock; a requeued start comes at least SLURM's
  # credential lifetime (cred_expire, 120 s by default) after the previous one's status.
  started=$(($(date +%s) - 5))
  zt_srun "$ZT_BIN" "${args[@]}"
  run_dir=$(zt_run_dir "${args[@]:1}")
  status=$(zt_fresh_status "$run_dir" "$started")
  cause=$(zt_stop_cause)
  outcome=$(zt_step_outcome "$zt_step_rc" "$status" "$cause" "$zt_signalled")
  case $outcome in
    finished)
      zt_log "training finished"
      exit 0
      ;;
    requeue)
      if [[ -n $cause && $status != *requeue=yes* ]]; then
        zt_log "SLURM is ending the job ($cause) and the run stopped with a checkpoint ($status)"
      elif ((zt_step_rc != ZT_EXIT_REQUEUE)); then
        zt_log "the launcher returned $zt_step_rc but RUN_DIR/status says: $status"
      fi
      zt_requeue
      ;;
    stopped)
      zt_log "stopped for good after a checkpoint (${status:-exit $zt_step_rc}): not requeueing; to continue, \`scontrol requeue $SLURM_JOB_ID\` while SLURM still lists the job, or train with --resume ${run_dir:-<job directory>}"
      exit "$zt_step_rc"
      ;;
    launch)
      echo "job: error: the launch failed: srun --mpi=$ZT_SRUN_MPI exited with code $zt_step_rc before zerotune started (no ${run_dir:-RUN_DIR}/status); set ZT_SRUN_MPI to a plugin that the MPI of $ZT_BIN speaks, from those \`srun --mpi=list\` offers here: $(zt_srun_mpi_plugins) (docs/slurm.md, PMIx or PMI2)" >&2
      exit "$zt_step_rc"
      ;;
    *)
      zt_log "training failed with exit code $zt_step_rc (2 input, 3 library, 4 peer rank failure; see logs/ in the job directory)"
      exit "$zt_step_rc"
      ;;
  esac
}

# zt_prep KIND INPUT OUTPUT SEQ_LEN: `zerotune prep KIND` as one task, unless OUTPUT exists
# (ZT_PREP_FORCE=1 redoes it). prep writes OUTPUT.tmp and renames it at the end, so a stopped
# job leaves no half file; on a signal the step is stopped and the job requeued, and the
# requeued job skips what is done.
zt_prep() {
  local kind=$1 input=$2 output=$3 seq_len=$4
  if [[ -f $output && ${ZT_PREP_FORCE:-0} != 1 ]]; then
    zt_log "$output exists; skipping (ZT_PREP_FORCE=1 redoes it)"
    return 0
  fi
  [[ -f $input ]] || zt_die "prep $kind: input $input not found (ZT_RAW_DIR, docs/slurm.md)"
  mkdir -p "$(dirname "$output")"
  local args=(prep "$kind" --input "$input" --tokenizer "$ZT_TOKENIZER_DIR" --seq-len "$seq_len"
    --out "$output")
  zt_log "$ZT_BIN ${args[*]}"
  zt_srun --nodes=1 --ntasks=1 "$ZT_BIN" "${args[@]}"
  # prep has nothing to checkpoint: SIGUSR1, preemption and the time limit requeue (the
  # requeued job redoes this file); a user's scancel (SIGTERM) ends the job.
  if [[ $zt_signalled == USR1 || $zt_step_rc == "$ZT_EXIT_REQUEUE" || -n $(zt_stop_cause) ]]; then
    zt_requeue
  fi
  if [[ $zt_signalled == TERM ]]; then
    zt_log "prep $kind stopped by SIGTERM: not requeueing"
    exit 143
  fi
  ((zt_step_rc == 0)) || zt_die "prep $kind $input failed with exit code $zt_step_rc" "$zt_step_rc"
}
