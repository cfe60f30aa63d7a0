#!/usr/bin/env bash
# zerotune train --deepspeed: a DeepSpeed config with comments drives a 2-rank ZeRO-2 run on
# the CPU; the resolved config.yaml shows what was used, keys without effect are listed once at
# info level, and a misspelt key stops the run with exit 2 and one line.
source "$(dirname "$0")/lib/common.sh"
cd "$SCRATCH"
cat > ds.json <<'JSON'
{
  // as DeepSpeed users write it (hjson comments, a trailing comma)
  "train_batch_size": 8,
  "train_micro_batch_size_per_gpu": 2,
  "gradient_clipping": 0.5,
  "zero_optimization": {"stage": 2, "overlap_comm": true, "reduce_bucket_size": 5e8,
                        "contiguous_gradients": true, "round_robin_gradients": false},
  "optimizer": {"type": "AdamW", "params": {"lr": 1e-3, "weight_decay": 0.01}},
  "steps_per_print": 1,
}
JSON
mpiexec="${MPIEXEC:-mpiexec}"
"$mpiexec" -n 2 "$ZT" train --deepspeed ds.json --set train.max_steps=2 --set model.n_layer=1 \
  --set model.n_embd=32 --set model.n_head=2 --set model.seq_len=16 --run-dir run > out.txt 2>&1 \
  || { cat out.txt; fail "train --deepspeed failed"; }
for want in "stage: 2" "reduce_bucket_size: 500000000" "overlap_comm: true" "global_batch_size: 8" "micro_batch_size: 2" "grad_clip: 0.5" "lr: 0.001"; do
  grep -q "^  $want\$" run/config.yaml || fail "config.yaml lacks \"$want\""
done
grep -q "grad_accum=2" out.txt || fail "no grad_accum=2 (8 = 2 x 2 accumulation x 2 ranks)"
[ "$(grep -c "accepted, no effect yet: zero_optimization.contiguous_gradients, zero_optimization.round_robin_gradients" out.txt)" = 1 ] \
  || { cat out.txt; fail "ignored keys not listed once"; }
grep -q "^step=2/2 " out.txt || fail "no step=2/2 line"

sed 's/"gradient_clipping"/"gradient_cliping"/' ds.json > bad.json
set +e
"$ZT" train --deepspeed bad.json --run-dir bad > bad.out 2> bad.err
code=$?
set -e
[ "$code" = 2 ] || fail "misspelt key: exit $code, expected 2"
[ "$(wc -l < bad.err)" = 1 ] || fail "misspelt key: expected one line, got $(cat bad.err)"
grep -q "bad.json: gradient_cliping: is not a DeepSpeed config key" bad.err || fail "$(cat bad.err)"
[ ! -e bad ] || fail "a rejected config created its run directory"
pass "DeepSpeed config mapped, ignored keys listed, misspelt key refused"
