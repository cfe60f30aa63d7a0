#!/usr/bin/env bash
# A rank killed mid-run ends the job (non-zero exit) within a bounded time instead of
# leaving the other ranks waiting in a collective forever.
source "$(dirname "$0")/lib/common.sh"
cfg="$SRC/tests/data/configs/tiny.yaml"
mpiexec="${MPIEXEC:-mpiexec}"
start=$(date +%s)
timeout 300 "$mpiexec" -n 3 "$ZT" train --config "$cfg" --set train.max_steps=100000 \
  --set train.global_batch_size=12 --set train.micro_batch_size=2 \
  --run-dir "$SCRATCH/killed" > "$SCRATCH/out.txt" 2>&1 &
launcher=$!
victim=""
for _ in $(seq 1 600); do
  if grep -q '"type": *"step"' "$SCRATCH/killed/metrics.jsonl" 2>/dev/null; then
    victim=$(pgrep -f -- "--run-dir $SCRATCH/killed" | sort -n | tail -1)
    [ -n "$victim" ] && break
  fi
  sleep 0.1
done
[ -n "$victim" ] || fail "training never started"
kill -9 "$victim"
set +e; wait "$launcher"; rc=$?; set -e
elapsed=$(( $(date +%s) - start ))
[ "$rc" != 0 ] || fail "job exited 0 after a rank was killed"
[ "$rc" != 124 ] || fail "job hung until the 300 s timeout after a rank was killed"
pgrep -f -- "--run-dir $SCRATCH/killed" > /dev/null && fail "ranks still running after the launcher exited"
pass "killed one of 3 ranks: job ended with exit $rc after ${elapsed}s"
