#!/usr/bin/env bash
# Every stop of a run under `mpiexec -n 2` (MPICH's hydra forwards SIGINT, SIGTERM and SIGUSR1
# to the ranks) checkpoints at the next step boundary and ends with its documented code:
#   Ctrl-C (SIGINT)  130, stopped for good      SIGTERM (kill)  143, stopped for good
#   SIGUSR1          85, requeue wanted         SIGUSR1 then SIGTERM: 85 (a requeue request wins)
# RUN_DIR/status says the same, and --resume auto continues from the checkpoint.
source "$(dirname "$0")/lib/common.sh"
cfg="$SRC/tests/data/configs/tiny.yaml"
cd "$SCRATCH"

# stop_run NAME EXPECTED_CODE SIGNAL...: train under mpiexec -n 2 until 3 steps are logged,
# send the signals to mpiexec, check the code, the checkpoint and RUN_DIR/status.
stop_run() {
  local name=$1 expected=$2
  shift 2
  # Signals go to mpiexec itself (a `timeout` in between would not pass SIGUSR1 on).
  mpiexec -n 2 "$ZT" train --config "$cfg" --set train.max_steps=1000000 \
    --set log.every_n_steps=1 --set checkpoint.every_n_steps=0 --run-dir "$SCRATCH/$name" \
    > "$SCRATCH/$name.out" 2>&1 &
  local pid=$! n
  (sleep 120 && kill -KILL "$pid") >/dev/null 2>&1 &
  local watchdog=$!
  for _ in $(seq 1 1200); do
    n=$(grep -c '"type": *"step"' "$SCRATCH/$name/metrics.jsonl" 2>/dev/null || true)
    [ "${n:-0}" -ge 3 ] && break
    sleep 0.05
  done
  [ "${n:-0}" -ge 3 ] || { cat "$SCRATCH/$name.out"; fail "$name: the run did not log 3 steps"; }
  local sig
  for sig in "$@"; do kill -"$sig" "$pid"; done
  local rc
  set +e; wait "$pid"; rc=$?; set -e
  kill "$watchdog" 2>/dev/null || true
  local status
  status=$(cat "$SCRATCH/$name/status" 2>/dev/null || true)
  local requeue=no
  [ "$expected" = 85 ] && requeue=yes
  [[ $status =~ ^stopped\ step=([0-9]+)\ exit=$expected\ requeue=$requeue$ ]] ||
    { cat "$SCRATCH/$name.out"; fail "$name ($*): status is '$status', expected stopped ... exit=$expected requeue=$requeue"; }
  local step=${BASH_REMATCH[1]}
  # MPICH's mpiexec has returned 0 where every rank exited with a stop code; the status
  # above is what the job scripts trust then. Any other code is wrong.
  [ "$rc" = "$expected" ] || [ "$rc" = 0 ] ||
    { cat "$SCRATCH/$name.out"; fail "$name ($*): mpiexec exited $rc, expected $expected"; }
  [ "$step" -ge 3 ] || fail "$name: stopped at step $step, before the signal"
  [ "$(cat "$SCRATCH/$name/checkpoints/latest")" = "$(printf 'step-%06d' "$step")" ] ||
    fail "$name: checkpoints/latest does not name step $step"
  grep -q "^checkpoint saved at step $step " "$SCRATCH/$name.out" ||
    fail "$name: no 'checkpoint saved at step $step' line"
  echo "$name: $* -> exit $rc, $status"
}

stop_run ctrl_c 130 INT
stop_run term 143 TERM
stop_run usr1 85 USR1
stop_run usr1_then_term 85 USR1 TERM

# Stopped for good is not lost: --resume auto continues from the Ctrl-C checkpoint.
step=$(sed -n 's/^stopped step=\([0-9]*\) .*/\1/p' "$SCRATCH/ctrl_c/status")
timeout -s KILL 120 mpiexec -n 2 "$ZT" train --config "$cfg" --set train.max_steps=$((step + 2)) \
  --set log.every_n_steps=1 --run-dir "$SCRATCH/ctrl_c" --resume auto > "$SCRATCH/resumed.out" 2>&1 ||
  { cat "$SCRATCH/resumed.out"; fail "resuming after Ctrl-C failed"; }
grep -q "^resumed from step $step " "$SCRATCH/resumed.out" || fail "no 'resumed from step $step' after Ctrl-C"
[ "$(cat "$SCRATCH/ctrl_c/status")" = "finished step=$((step + 2))" ] || fail "resumed run: status $(cat "$SCRATCH/ctrl_c/status")"
pass "mpiexec -n 2: SIGINT 130, SIGTERM 143, SIGUSR1 85 (wins over SIGTERM), each after a checkpoint"
