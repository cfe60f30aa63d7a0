#!/usr/bin/env bash
# A rank that stops answering (SIGSTOP) ends the job after comm.timeout_s with exit 4 and one
# line naming the operation, not an MPI fatal error from freeing a request still active.
source "$(dirname "$0")/lib/common.sh"
cfg="$SRC/tests/data/configs/tiny.yaml"
cd "$SCRATCH"
# No interval checkpoints: a rank stopped while one is written is waited for up to
# comm.checkpoint_timeout_s instead, which is not what this test is about.
timeout -s KILL 120 mpiexec -n 2 "$ZT" train --config "$cfg" --set train.max_steps=1000000 \
  --set log.every_n_steps=1 --set comm.timeout_s=3 --set checkpoint.save_strategy=no \
  --run-dir "$SCRATCH/run" \
  > "$SCRATCH/run.out" 2> "$SCRATCH/run.err" &
launcher=$!
for _ in $(seq 1 600); do
  n=$(grep -c '"type": *"step"' "$SCRATCH/run/metrics.jsonl" 2>/dev/null || true)
  [ "${n:-0}" -ge 3 ] && break
  sleep 0.05
done
# One of this job's two ranks (other tests may run the same binary at the same time).
victim=$(pgrep -f "^$ZT train .*--run-dir $SCRATCH/run" | tail -n 1)
[ -n "$victim" ] || fail "no rank to stop"
start=$(date +%s)
trap 'kill -CONT "$victim" 2> /dev/null || true; rm -rf "$SCRATCH"' EXIT
kill -STOP "$victim"
set +e; wait "$launcher"; rc=$?; set -e
elapsed=$(( $(date +%s) - start ))
[ "$rc" = 4 ] || { cat "$SCRATCH/run.err"; fail "exit $rc after a rank stopped answering, expected 4"; }
[ "$elapsed" -lt 60 ] || fail "took $elapsed s with comm.timeout_s=3"
[ "$(grep -c 'zerotune: error:' "$SCRATCH/run.err")" = 1 ] || { cat "$SCRATCH/run.err"; fail "not one error line"; }
grep -q "did not complete within 3 s: a peer rank died or stopped answering" "$SCRATCH/run.err" \
  || { cat "$SCRATCH/run.err"; fail "the line does not say what timed out"; }
grep -qi "fatal error\|Request_free" "$SCRATCH/run.err" && { cat "$SCRATCH/run.err"; fail "MPI fatal error"; }
pass "a silent peer ends the job after comm.timeout_s with exit 4 (${elapsed} s)"
