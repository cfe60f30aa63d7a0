#!/usr/bin/env bash
# The forgetting check (data.retention_files) on the shared WikiText-2 and SQuAD data: a tiny
# GPT-2 first trained on WikiText-2, then fine-tuned on SQuAD with held-out WikiText as the
# retention file. The eval losses and retention the .out prints equal what `zerotune eval`
# computes on its own for the model before fine-tuning (the exported base model) and after
# each epoch (the epoch checkpoints); a run resumed from the epoch-1 checkpoint (on 2 ranks)
# keeps the "before" figures rather than measuring the fine-tuned model; `zerotune report`
# shows them from the run directory and from the .out. With save_strategy epoch,
# every_n_steps 1 and keep_last 1, interval checkpoints rotate while every epoch checkpoint
# stays.
source "$(dirname "$0")/lib/common.sh"
DATA="${ZEROTUNE_SHARED_DATA:?}"
TOK="$DATA/gpt2-tokenizer"
cd "$SCRATCH"

"$ZT" prep wikitext --input "$DATA/wikitext-2-raw/wiki.valid.raw" --tokenizer "$TOK" \
  --seq-len 32 --max-samples 48 --out wiki-train.h5 > /dev/null
"$ZT" prep wikitext --input "$DATA/wikitext-2-raw/wiki.test.raw" --tokenizer "$TOK" \
  --seq-len 32 --max-samples 16 --out wiki.h5 > /dev/null
"$ZT" prep squad --input "$DATA/squad-v1.1/dev-v1.1.json" --tokenizer "$TOK" \
  --seq-len 64 --max-samples 16 --out squad.h5 > /dev/null

cat > base.yaml <<YAML
model: {n_layer: 2, n_head: 2, n_embd: 32, seq_len: 64, vocab_size: 50257}
data: {train_file: wiki-train.h5}
train: {micro_batch_size: 4, global_batch_size: 8, epochs: 4, lr: 1.0e-2, seed: 5,
        eval_strategy: "no"}
checkpoint: {export_hf: true}
YAML
"$ZT" train --config base.yaml --run-dir base > base.out
[ -f base/export/model.safetensors ] || fail "the base run wrote no export/model.safetensors"

# 16 SQuAD rows, global batch 8: 2 steps per epoch, 4 in all. The high lr makes the model
# forget WikiText (retention well below 80%), so the warning shows too.
cat > ft.yaml <<YAML
model: {n_layer: 2, n_head: 2, n_embd: 32, seq_len: 64, vocab_size: 50257, init: base/export}
data:
  train_file: squad.h5
  retention_files:
    - wiki.h5
train: {micro_batch_size: 4, global_batch_size: 8, epochs: 2, lr: 5.0e-2, seed: 5,
        eval_strategy: "no"}
checkpoint: {save_strategy: epoch, every_n_steps: 1, keep_last: 1}
YAML
"$ZT" train --config ft.yaml --run-dir ft > ft.out

# "retention file=wiki step=S epoch=E eval_loss=L ..." -> the value of FIELD at epoch E.
field() { sed -n "s/^retention file=wiki .* epoch=$2 \(.* \)\{0,1\}$1=\([0-9.]*\).*/\2/p" "$3" | tail -n 1; }
eval_of() { "$ZT" eval "$@" --data wiki.h5 | sed -n 's/^eval eval_loss=\([0-9.]*\) .*/\1/p'; }
near() { python3 -c "import sys; sys.exit(0 if abs($1 - ($2)) <= $3 else 1)"; }

before=$(field eval_loss 0 ft.out)
[ -n "$before" ] || { cat ft.out; fail "no 'retention file=wiki ... epoch=0' line before training"; }
want_before=$(eval_of --init base/export/model.safetensors)
near "$before" "$want_before" 2e-4 || fail "before: printed eval_loss $before, zerotune eval $want_before"

for epoch_step in 1:2 2:4; do
  epoch=${epoch_step%:*}; step=${epoch_step#*:}
  loss=$(field eval_loss "$epoch" ft.out)
  pct=$(field retention_pct "$epoch" ft.out)
  [ -n "$loss" ] && [ -n "$pct" ] || fail "no retention line with retention_pct after epoch $epoch"
  [ "$(field before_eval_loss "$epoch" ft.out)" = "$before" ] || fail "epoch $epoch: before_eval_loss differs"
  want=$(eval_of --checkpoint "ft/checkpoints/$(printf 'step-%06d' "$step")")
  near "$loss" "$want" 2e-4 || fail "epoch $epoch: printed eval_loss $loss, zerotune eval $want"
  # retention = ppl before / ppl after = exp(loss before - loss after), from the eval figures.
  want_pct=$(python3 -c "import math; print(100 * math.exp($want_before - $want))")
  near "$pct" "$want_pct" 0.15 || fail "epoch $epoch: retention_pct $pct, from zerotune eval $want_pct"
  if near "$pct" 0 79.95; then
    grep -q "^warning: retention of wiki is $pct% (below 80%) after epoch $epoch" ft.out ||
      fail "no warning at retention $pct%"
  fi
done
grep -q "^warning: retention of wiki is" ft.out || fail "this fine-tuning forgets, but no warning"
python3 - ft/metrics.jsonl "$before" <<'PY' || fail "metrics.jsonl lacks the retention figures"
import json, sys
records = [json.loads(l) for l in open(sys.argv[1]) if '"retention"' in l]
assert [r["epoch"] for r in records] == [0, 1, 2], records
assert abs(records[0]["retention/wiki/eval_loss"] - float(sys.argv[2])) < 1e-4
for r in records[1:]:
    pct = 100 * r["retention/wiki/before_eval_ppl"] / r["retention/wiki/eval_ppl"]
    assert abs(r["retention/wiki/retention_pct"] - pct) < 1e-9, r
PY

# Checkpoints: epoch ones (steps 2 and 4) kept, interval ones rotated to keep_last 1 (step 3).
kept=$(cd ft/checkpoints && ls -d step-* | tr '\n' ' ')
[ "$kept" = "step-000002 step-000003 step-000004 " ] || fail "checkpoints left: $kept"

# Resumed from the epoch-1 checkpoint, on 2 ranks: no new "before", the same one carried in
# meta.json; epoch 2 evaluates as the uninterrupted run did (up to the sum's order).
timeout -s KILL 300 "${MPIEXEC:-mpiexec}" -n 2 "$ZT" train --config ft.yaml \
  --resume ft/checkpoints/step-000002 --run-dir resumed > resumed.out
grep -q "^retention file=wiki .* epoch=0 " resumed.out && fail "the resumed run measured 'before' again"
[ "$(field before_eval_loss 2 resumed.out)" = "$before" ] || fail "the resumed run lost the before figures"
near "$(field eval_loss 2 resumed.out)" "$(field eval_loss 2 ft.out)" 2e-4 ||
  fail "the resumed run's epoch 2 differs from the uninterrupted one"

# The report's retention table, from the run directory and from the .out alone.
for source in ft ft.out; do
  "$ZT" report --format json "$source" > report.json
  python3 - report.json "$before" "$(field retention_pct 1 ft.out)" "$(field retention_pct 2 ft.out)" <<'PY' ||
import json, sys
rows = json.load(open(sys.argv[1]))["retention"]
assert len(rows) == 1 and rows[0]["file"] == "wiki", rows
assert abs(rows[0]["eval_loss_before"] - float(sys.argv[2])) < 1e-4, rows
assert abs(rows[0]["retention_pct_epoch_1"] - float(sys.argv[3])) < 0.051, rows
assert abs(rows[0]["retention_pct_epoch_2"] - float(sys.argv[4])) < 0.051, rows
PY
    fail "report of $source: retention table wrong ($(cat report.json))"
done
"$ZT" report ft | grep -q "^## Retention" || fail "no Retention table in the markdown report"
pass "before $before, retention $(field retention_pct 1 ft.out)% and $(field retention_pct 2 ft.out)% as zerotune eval gives; kept across resume; epoch checkpoints kept"
