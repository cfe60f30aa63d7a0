#!/usr/bin/env bash
# SIGUSR1 mid-run: the job checkpoints, exits 85 (requeue me); `--resume auto` continues and
# every later step's loss equals the uninterrupted run's exactly (same data order, no RNG).
source "$(dirname "$0")/lib/common.sh"
cfg="$SRC/tests/data/configs/tiny.yaml"

"$ZT" train --config "$cfg" --set train.max_steps=40 --run-dir "$SCRATCH/whole" > "$SCRATCH/whole.out"

# A fresh run into a directory with checkpoints is refused and leaves the directory as it was.
cp "$SCRATCH/whole/config.yaml" "$SCRATCH/config.before"
set +e; "$ZT" train --config "$cfg" --set train.lr=1e-3 --run-dir "$SCRATCH/whole" > /dev/null 2> "$SCRATCH/refused.err"; rc=$?; set -e
[ "$rc" = 2 ] || fail "a fresh run into a used directory exited $rc, expected 2"
grep -q "already holds checkpoints" "$SCRATCH/refused.err" || fail "no 'already holds checkpoints' error"
cmp -s "$SCRATCH/whole/config.yaml" "$SCRATCH/config.before" || fail "the refused run changed config.yaml"

# Slow each step down a little so the signal lands mid-run, whatever the machine.
"$ZT" train --config "$cfg" --set train.max_steps=40 --set log.every_n_steps=1 \
  --run-dir "$SCRATCH/split" > "$SCRATCH/split.out" 2>&1 &
pid=$!
for _ in $(seq 1 600); do
  n=$(grep -c '"type": *"step"' "$SCRATCH/split/metrics.jsonl" 2>/dev/null || true)
  [ "${n:-0}" -ge 7 ] && break
  sleep 0.05
done
kill -USR1 "$pid"
set +e; wait "$pid"; rc=$?; set -e
if [ "$rc" = 0 ]; then
  echo "the run finished before the signal arrived; nothing to resume" >&2
  fail "could not stop the run mid-way"
fi
[ "$rc" = 85 ] || { cat "$SCRATCH/split.out"; fail "stopped run exited $rc, expected 85"; }
stop_step=$(sed -n 's/^checkpoint saved at step \([0-9]*\) (reason: preempted).*/\1/p' "$SCRATCH/split.out")
[ -n "$stop_step" ] || fail "no 'checkpoint saved at step N (reason: preempted)' line"
[ "$stop_step" -lt 40 ] || fail "stopped at the last step"

"$ZT" train --config "$cfg" --set train.max_steps=40 --set log.every_n_steps=1 \
  --run-dir "$SCRATCH/split" --resume auto >> "$SCRATCH/split.out"
grep -q "^resumed from step $stop_step " "$SCRATCH/split.out" || fail "no 'resumed from step $stop_step' line"

step_losses "$SCRATCH/whole" > "$SCRATCH/whole.losses"
step_losses "$SCRATCH/split" > "$SCRATCH/split.losses"
[ "$(wc -l < "$SCRATCH/whole.losses")" = 40 ] || fail "uninterrupted run logged $(wc -l < "$SCRATCH/whole.losses") steps"
diff "$SCRATCH/whole.losses" "$SCRATCH/split.losses" || fail "losses differ after resuming at step $stop_step"
pass "stopped at step $stop_step, resumed, 40 losses identical"
