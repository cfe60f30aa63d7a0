#!/usr/bin/env bash
# Ranks started with different configs (an MPMD launch, a config that differs per node) end
# with exit 2 and one line naming the keys that differ, instead of hanging or training
# diverging replicas.
source "$(dirname "$0")/lib/common.sh"
cfg="$SRC/tests/data/configs/tiny.yaml"
cd "$SCRATCH"
check() {  # $1 name, $2 expected key, then the two ranks' extra arguments split by ::
  local name=$1 key=$2 rc
  shift 2
  set +e
  timeout -s KILL 120 mpiexec -n 1 "$ZT" train --config "$cfg" --set train.max_steps=2 \
    --run-dir "$SCRATCH/$name" $1 : -n 1 "$ZT" train --config "$cfg" --set train.max_steps=2 \
    --run-dir "$SCRATCH/$name" $2 > "$SCRATCH/$name.out" 2> "$SCRATCH/$name.err"
  rc=$?
  set -e
  [ "$rc" = 2 ] || { cat "$SCRATCH/$name.err"; fail "$name: exited $rc, expected 2 (137: it hung)"; }
  [ "$(grep -c 'error' "$SCRATCH/$name.err")" = 1 ] || { cat "$SCRATCH/$name.err"; fail "$name: not one line"; }
  grep -q "rank 1 was started with another config than rank 0.*$key" "$SCRATCH/$name.err" \
    || { cat "$SCRATCH/$name.err"; fail "$name: the line does not name $key"; }
  [ ! -e "$SCRATCH/$name/checkpoints" ] || fail "$name: a job directory was made"
}
check n_layer model.n_layer "--set=model.n_layer=2" "--set=model.n_layer=3"
check lr "train.lr, train.seed" "--set=train.lr=1e-3" "--set=train.lr=2e-3 --set=train.seed=9"
pass "ranks with different configs stop at once, naming the keys"
