# Shared by the jobs/*.slurm scripts (sourced, not run): environment, the srun launch,
# forwarding of SLURM's warning signal to the training step, and the requeue on exit 85.
# docs/slurm.md describes the ZT_* variables; the defaults suit a GPU cluster.
#
# The story of a preempted or time-limited job:
#   1. SLURM sends SIGUSR1 to this batch shell (--signal=B:USR1@N, or
#      `scancel --signal=USR1 --batch <job>`); SIGTERM (scancel, preemption) is treated alike.
#   2. The trap below forwards the signal to srun, which passes it to every rank.
#   3. The trainer finishes its step, writes a checkpoint and exits with code 85.
#   4. This script runs `scontrol requeue $SLURM_JOB_ID`; the job goes back to the queue with
#      the same job id, so the same job directory, and appends to the same .out file.
#   5. The requeued run starts with `--resume auto` and continues from checkpoints/latest.

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

# Trap: pass SIGUSR1/SIGTERM on to the running step. srun relays both to every task.
zt_forward_signal() {
  local sig=$1
  zt_signalled=$sig
  zt_log "received SIG$sig; asking the running step to checkpoint and stop"
  if [[ -n $zt_srun_pid ]] && kill -0 "$zt_srun_pid" 2>/dev/null; then
    kill -s "$sig" "$zt_srun_pid" 2>/dev/null || true
  else
    zt_pending_signal=$sig
  fi
}

# zt_run_step COMMAND...: runs an srun command in the background, so that this shell takes
# SLURM's signals while it waits, and forwards them. Sets zt_step_rc to the command's exit
# code, or to 85 without starting it when a signal came first.
zt_run_step() {
  trap 'zt_forward_signal USR1' USR1
  trap 'zt_forward_signal TERM' TERM
  if [[ -n $zt_pending_signal ]]; then
    zt_log "signalled before the step started; not starting it"
    zt_step_rc=$ZT_EXIT_REQUEUE
    return
  fi
  "$@" &
  zt_srun_pid=$!
  if [[ -n $zt_pending_signal ]]; then
    kill -s "$zt_pending_signal" "$zt_srun_pid" 2>/dev/null || true
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

# zt_run_status TRAIN_ARGUMENTS...: the run's own word on how it ended, RUN_DIR/status
# ("finished step=N", "stopped step=N exit=85", "failed exit=C reason=..."; empty if none).
# A launcher's exit code alone is not enough: MPICH's mpiexec has returned 0 after every
# rank exited 85. The run directory is RUN_ROOT/RUN_NAME-SLURM_JOB_ID of the resolved config.
zt_run_status() {
  local yaml root name
  yaml=$(timeout 60 "$ZT_BIN" config "$@" 2> /dev/null) || return 0
  root=$(awk '/^run:/ {f = 1; next} /^[^ ]/ {f = 0} f && $1 == "root:" {print $2}' <<< "$yaml")
  name=$(awk '/^run:/ {f = 1; next} /^[^ ]/ {f = 0} f && $1 == "name:" {print $2}' <<< "$yaml")
  [[ -n $root && -n $name ]] || return 0
  cat "$root/$name-${SLURM_JOB_ID}/status" 2> /dev/null || true
}

# zt_train CONFIG_NAME [--set k=v]... -- [arguments given to the script by sbatch]
# Runs `zerotune train` on every task of the allocation, resuming from the job directory's
# latest checkpoint, and turns exit code 85 (checkpointed on a signal) into a requeue.
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
  zt_srun "$ZT_BIN" "${args[@]}"
  if ((zt_step_rc != ZT_EXIT_REQUEUE)) && [[ $(zt_run_status "${args[@]:1}") == stopped* ]]; then
    zt_log "the launcher returned $zt_step_rc but RUN_DIR/status says the run stopped: requeueing"
    zt_step_rc=$ZT_EXIT_REQUEUE
  fi
  case $zt_step_rc in
    0) zt_log "training finished" ;;
    "$ZT_EXIT_REQUEUE") zt_requeue ;;
    *) zt_log "training failed with exit code $zt_step_rc (2 input, 3 library, 4 peer rank failure; see logs/ in the job directory)" ;;
  esac
  exit "$zt_step_rc"
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
  if [[ -n $zt_signalled || $zt_step_rc == "$ZT_EXIT_REQUEUE" ]]; then
    zt_requeue
  fi
  ((zt_step_rc == 0)) || zt_die "prep $kind $input failed with exit code $zt_step_rc" "$zt_step_rc"
}
