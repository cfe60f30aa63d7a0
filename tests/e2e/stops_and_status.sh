#!/usr/bin/env bash
# A stop signal at any moment of start-up ends the run with its stop code, not with the
# signal: SIGUSR1 85 (requeue me), SIGTERM 143 and SIGINT 130 (stopped for good).
# RUN_DIR/status says how every run ended (finished, stopped at step N, failed with the
# reason), for job scripts that cannot trust a launcher's exit code.
source "$(dirname "$0")/lib/common.sh"
cfg="$SRC/tests/data/configs/tiny.yaml"
cd "$SCRATCH"
i=0
for sig in TERM USR1 INT; do
  case $sig in
    USR1) code=85 requeue=yes ;;
    TERM) code=143 requeue=no ;;
    INT) code=130 requeue=no ;;
  esac
  for delay in 0 0.02 0.05 0.1 0.2; do
    i=$((i + 1))
    "$ZT" train --config "$cfg" --set train.max_steps=1000000 --run-dir "$SCRATCH/r$i" \
      > "$SCRATCH/r$i.out" 2>&1 &
    pid=$!
    # From the moment the run has its directory (status "running": MPI is up, the data,
    # model and checkpoint are still to load). Launched without mpiexec, MPICH's singleton
    # start-up before that point can wait forever when a signal interrupts it.
    for _ in $(seq 1 2000); do
      [ -f "$SCRATCH/r$i/status" ] && break
      sleep 0.005
    done
    sleep "$delay"
    kill -"$sig" "$pid"
    set +e; wait "$pid"; rc=$?; set -e
    [ "$rc" = "$code" ] || { cat "$SCRATCH/r$i.out"; fail "SIG$sig after ${delay}s of start-up: exit $rc, expected $code"; }
    grep -q "^stopped step=[0-9]* exit=$code requeue=$requeue$" "$SCRATCH/r$i/status" || fail "SIG$sig after ${delay}s: status is '$(cat "$SCRATCH/r$i/status")'"
  done
done

"$ZT" train --config "$cfg" --set train.max_steps=4 --run-dir "$SCRATCH/done" > /dev/null
[ "$(cat "$SCRATCH/done/status")" = "finished step=4" ] || fail "finished run: status is '$(cat "$SCRATCH/done/status")'"
set +e
"$ZT" train --config "$cfg" --set train.max_steps=6 --set train.lr=1e30 --set train.warmup_steps=0 \
  --run-dir "$SCRATCH/diverged" > /dev/null 2>&1
set -e
grep -q "^failed exit=3 reason=step 2: loss is" "$SCRATCH/diverged/status" \
  || fail "failed run: status is '$(cat "$SCRATCH/diverged/status")'"
ls "$SCRATCH"/*/.status.tmp* > /dev/null 2>&1 && fail "a temporary status file stays"
pass "stops during start-up exit 85, 143 or 130 ($i cases); RUN_DIR/status says how each run ended"
