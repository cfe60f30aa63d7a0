#!/usr/bin/env bash
# A bad zero.nvme_path is refused before the first step, on every rank, with one line that
# names the field and where its value came from (exit 2), and leaves the run directory as it
# was: checkpoints, config.yaml and status (the check runs before the directory is touched). The
# offload fields' own rules are refused the same way.
source "$(dirname "$0")/lib/common.sh"
cfg="$SRC/tests/data/configs/tiny.yaml"
mpiexec="${MPIEXEC:-mpiexec}"
common=(--config "$cfg" --set train.max_steps=2 --set zero.stage=1 --set train.eval_strategy=no
        --set checkpoint.every_n_steps=1)
"$ZT" train "${common[@]}" --run-dir "$SCRATCH/run" > "$SCRATCH/first.out" 2>&1 ||
  { cat "$SCRATCH/first.out"; fail "the first run failed"; }
# The checkpoints, the resolved config and the status line: a refused start touches none.
snapshot() {
  find "$SCRATCH/run/checkpoints" "$SCRATCH/run/config.yaml" "$SCRATCH/run/status" -type f \
    -exec md5sum {} + | sort
}
snapshot > "$SCRATCH/before"

expect_refused() {  # expect_refused WHAT PATTERN ARGS...
  local what=$1 pattern=$2 rc
  shift 2
  set +e
  timeout 120 "$mpiexec" -n 2 "$ZT" train "${common[@]}" --set train.max_steps=4 "$@" \
    --run-dir "$SCRATCH/run" --resume auto > "$SCRATCH/refused.out" 2> "$SCRATCH/refused.err"
  rc=$?
  set -e
  [ "$rc" = 2 ] || { cat "$SCRATCH/refused.err"; fail "$what: exit $rc, expected 2"; }
  grep -q -- "$pattern" "$SCRATCH/refused.err" ||
    { cat "$SCRATCH/refused.err"; fail "$what: no line matching '$pattern'"; }
  [ "$(grep -c 'error' "$SCRATCH/refused.err")" = 1 ] ||
    { cat "$SCRATCH/refused.err"; fail "$what: expected one error line"; }
  snapshot | diff "$SCRATCH/before" - > /dev/null ||
    fail "$what: the run directory changed (checkpoints, config.yaml or status)"
}

nvme=(--set zero.offload_optimizer=nvme)
# The line names where the value came from: here the --set.
expect_refused "missing folder" "--set zero.nvme_path: zero.nvme_path: $SCRATCH/absent does not exist" \
  "${nvme[@]}" --set zero.nvme_path="$SCRATCH/absent"
touch "$SCRATCH/a-file"
expect_refused "a file" "zero.nvme_path: $SCRATCH/a-file is not a directory" \
  "${nvme[@]}" --set zero.nvme_path="$SCRATCH/a-file"
if [ "$(id -u)" != 0 ]; then
  mkdir -p "$SCRATCH/locked" && chmod 555 "$SCRATCH/locked"
  expect_refused "read-only folder" "zero.nvme_path: $SCRATCH/locked is not writable" \
    "${nvme[@]}" --set zero.nvme_path="$SCRATCH/locked"
fi
# /proc has no free space to offer (and is not writable for others than root).
expect_refused "no space" "zero.nvme_path: /proc \(has 0 bytes free; the offloaded state needs [0-9]* bytes\|is not writable\)" \
  "${nvme[@]}" --set zero.nvme_path=/proc
expect_refused "nvme without a path" "zero.nvme_path: an nvme offload needs a folder" "${nvme[@]}"
expect_refused "offload and offload_optimizer disagree" \
  "zero.offload true disagrees with zero.offload_optimizer none" \
  --set zero.offload=true --set zero.offload_optimizer=none
expect_refused "offload_param below stage 3" "zero.offload_param cpu needs zero.stage 3" \
  --set zero.offload_param=cpu
pass "bad nvme paths and offload settings refused with one line, exit 2, checkpoints intact"
