#!/usr/bin/env bash
# kill -9 during a run with the optimizer state on NVMe, then `--resume auto`: the killed run
# left no file in zero.nvme_path and the run continues the uninterrupted curve exactly.
# Checkpoints move between tiers: one taken with nvme offload resumes without offload and one
# taken without resumes with nvme, on the same curve (the checkpoint format does not depend on the tier). The same with stage 3's parameter
# shards on NVMe as well (ZeRO-Infinity); on one rank stage 3 follows stage 2's curve exactly.
source "$(dirname "$0")/lib/common.sh"
cfg="$SRC/tests/data/configs/tiny.yaml"
nvme="$SCRATCH/nvme"
mkdir -p "$nvme"
steps=120
common=(--config "$cfg" --set train.max_steps=$steps --set log.every_n_steps=1
        --set zero.stage=2 --set checkpoint.every_n_steps=4 --set train.eval_strategy=no)
tier_args() {
  if [ "$1" = nvme ]; then
    echo --set zero.offload_optimizer=nvme --set zero.nvme_path="$nvme"
  elif [ "$1" = infinity ]; then  # stage 3 with the parameter shards on NVMe too
    echo --set zero.stage=3 --set zero.offload_optimizer=nvme --set zero.offload_param=nvme \
      --set zero.nvme_path="$nvme"
  else
    echo --set zero.offload_optimizer=none
  fi
}

"$ZT" train "${common[@]}" --run-dir "$SCRATCH/whole" > "$SCRATCH/whole.out" 2>&1 ||
  { cat "$SCRATCH/whole.out"; fail "uninterrupted run failed"; }
step_losses "$SCRATCH/whole" > "$SCRATCH/whole.losses"

# kill_and_resume FIRST SECOND: kill -9 a run on tier FIRST after its first checkpoint,
# resume it on tier SECOND, compare with the uninterrupted run.
kill_and_resume() {
  local dir="$SCRATCH/$1-then-$2" n=0 rc
  # shellcheck disable=SC2046
  "$ZT" train "${common[@]}" $(tier_args "$1") --run-dir "$dir" > "$dir.out" 2>&1 &
  local pid=$!
  for _ in $(seq 1 2400); do
    if [ -e "$dir/checkpoints/latest" ]; then
      n=$(grep -c '"type": *"step"' "$dir/metrics.jsonl" 2>/dev/null || true)
      [ "${n:-0}" -ge 6 ] && break
    fi
    sleep 0.02
  done
  kill -9 "$pid" 2>/dev/null || true
  set +e; wait "$pid"; rc=$?; set -e
  [ "$rc" != 0 ] || fail "$1: the run finished before kill -9 arrived"
  # The files are unlinked once open: their blocks went back with the killed process, so the
  # resumed run finds the room it needs in zero.nvme_path.
  [ -z "$(ls -A "$nvme")" ] || fail "$1: kill -9 left nvme files behind: $(ls "$nvme")"
  # shellcheck disable=SC2046
  "$ZT" train "${common[@]}" $(tier_args "$2") --run-dir "$dir" --resume auto >> "$dir.out" 2>&1 ||
    { cat "$dir.out"; fail "resume on $2 after kill -9 on $1 failed"; }
  grep -q "^resumed from step " "$dir.out" || fail "$1 then $2: no 'resumed from step' line"
  step_losses "$dir" > "$dir.losses"
  diff "$SCRATCH/whole.losses" "$dir.losses" || fail "losses differ after kill -9 on $1, resume on $2"
  [ -z "$(ls -A "$nvme")" ] || fail "nvme files left behind: $(ls "$nvme")"
}

kill_and_resume nvme nvme
kill_and_resume nvme none
kill_and_resume none nvme
kill_and_resume infinity infinity
kill_and_resume infinity none
pass "kill -9 with nvme offload (and stage 3's parameters on nvme) resumed on the same curve; checkpoints move between tiers"
