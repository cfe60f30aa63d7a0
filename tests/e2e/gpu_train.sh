#!/usr/bin/env bash
# zerotune train on one GPU, end to end (skipped, exit 77, where no GPU is visible):
#   - ZeRO stages 0, 1, 2 and 3 give the same fp32 losses on one GPU;
#   - the same seed gives bit-identical losses run to run; a run resumed from a checkpoint
#     reproduces the uninterrupted run's later losses exactly (bf16);
#   - fp16 with an absurd initial loss scale (2^30) overflows, skips those steps, halves the
#     scale and recovers: the loss then falls;
#   - bf16 follows the fp32 loss curve over 200 steps on real WikiText-2;
#   - the .out names the GPU and carries the pool's memory figures.
source "$(dirname "$0")/lib/common.sh"
nvidia-smi -L 2>/dev/null | grep -q GPU || { echo "skipped: no GPU"; exit 77; }

data="${ZEROTUNE_SHARED_DATA:?}"
"$ZT" prep wikitext --input "$data/wikitext-2-raw/wiki.valid.raw" --tokenizer "$data/gpt2-tokenizer" \
  --seq-len 128 --out "$SCRATCH/train.h5" > /dev/null
"$ZT" prep wikitext --input "$data/wikitext-2-raw/wiki.test.raw" --tokenizer "$data/gpt2-tokenizer" \
  --seq-len 128 --out "$SCRATCH/eval.h5" > /dev/null

common=(--set run.device=cuda --set model.n_layer=2 --set model.n_head=4 --set model.n_embd=128
        --set model.seq_len=128 --set model.vocab_size=50257 --set data.train_file="$SCRATCH/train.h5"
        --set data.eval_file="$SCRATCH/eval.h5" --set data.eval_max_samples=64
        --set train.micro_batch_size=8 --set train.global_batch_size=16 --set train.lr=1e-3
        --set train.warmup_steps=5 --set log.every_n_steps=1 --set monitor.interval_ms=50)

run() {  # run NAME ARGS...: train into $SCRATCH/NAME
  local name=$1; shift
  "$ZT" train "${common[@]}" "$@" --run-dir "$SCRATCH/$name" > "$SCRATCH/$name.out" 2>&1 \
    || { cat "$SCRATCH/$name.out"; fail "$name exited $?"; }
}

for stage in 0 1 2 3; do
  run "fp32_stage$stage" --set train.precision=fp32 --set zero.stage=$stage --set train.max_steps=12
  step_losses "$SCRATCH/fp32_stage$stage" > "$SCRATCH/fp32_stage$stage.losses"
done
for stage in 1 2 3; do
  python3 - "$SCRATCH/fp32_stage0.losses" "$SCRATCH/fp32_stage$stage.losses" <<'PY' || fail "stage $stage losses differ from stage 0"
import sys
a = [float(l.split()[1]) for l in open(sys.argv[1])]
b = [float(l.split()[1]) for l in open(sys.argv[2])]
assert len(a) == len(b) == 12, (len(a), len(b))
worst = max(abs(x - y) / abs(x) for x, y in zip(a, b))
print(f"{sys.argv[2]}: worst relative difference from stage 0 {worst:.2e}")
sys.exit(0 if worst < 1e-5 else 1)
PY
done
grep -q "device rank=0 local_rank=0 cuda" "$SCRATCH/fp32_stage0.out" || fail "the .out does not name the GPU"
grep -q "mem_alloc_gib=" "$SCRATCH/fp32_stage0.out" || fail "no mem_alloc_gib on the step line"

# Bit-identical run to run, and an exact resume (bf16, stage 2).
bf16=(--set train.precision=bf16 --set zero.stage=2 --set train.max_steps=16 --set checkpoint.every_n_steps=8)
run bf16_a "${bf16[@]}"
run bf16_b "${bf16[@]}"
step_losses "$SCRATCH/bf16_a" > "$SCRATCH/a.losses"
step_losses "$SCRATCH/bf16_b" > "$SCRATCH/b.losses"
diff "$SCRATCH/a.losses" "$SCRATCH/b.losses" || fail "two bf16 runs with one seed differ"
run bf16_resumed "${bf16[@]}" --resume "$SCRATCH/bf16_a/checkpoints/step-000008"
step_losses "$SCRATCH/bf16_resumed" > "$SCRATCH/resumed.losses"
diff <(sed -n '9,16p' "$SCRATCH/a.losses") "$SCRATCH/resumed.losses" \
  || fail "the resumed bf16 run does not reproduce steps 9-16"

# fp16: an initial scale of 2^30 overflows; every overflow skips its step and halves the scale.
run fp16 --set train.precision=fp16 --set fp16.initial_scale_power=30 --set fp16.hysteresis=1 \
  --set train.max_steps=60
overflows=$(grep -c "fp16 overflow at step" "$SCRATCH/fp16.out" || true)
[ "$overflows" -ge 3 ] || fail "expected fp16 overflows from a 2^30 loss scale, saw $overflows"
python3 - "$SCRATCH/fp16/metrics.jsonl" <<'PY' || fail "fp16 did not recover after its overflows"
import json, math, sys
steps = [r for r in map(json.loads, open(sys.argv[1])) if r.get("type") == "step"]
losses = [r["loss"] for r in steps]
assert all(math.isfinite(l) for l in losses), "non-finite loss"
assert losses[-1] < losses[0] - 0.5, (losses[0], losses[-1])
print(f"fp16 loss {losses[0]:.3f} -> {losses[-1]:.3f}")
PY

# bf16 follows fp32 over 200 steps of WikiText-2.
run curve_fp32 --set train.precision=fp32 --set train.max_steps=200 --set log.every_n_steps=1
run curve_bf16 --set train.precision=bf16 --set train.max_steps=200 --set log.every_n_steps=1
step_losses "$SCRATCH/curve_fp32" > "$SCRATCH/curve_fp32.losses"
step_losses "$SCRATCH/curve_bf16" > "$SCRATCH/curve_bf16.losses"
python3 - "$SCRATCH/curve_fp32.losses" "$SCRATCH/curve_bf16.losses" <<'PY' || fail "bf16 leaves the fp32 curve"
import sys
a = [float(l.split()[1]) for l in open(sys.argv[1])]
b = [float(l.split()[1]) for l in open(sys.argv[2])]
assert len(a) == len(b) == 200
window = lambda xs, i: sum(xs[i:i + 20]) / 20
worst = max(abs(window(a, i) - window(b, i)) / window(a, i) for i in range(0, 181, 20))
print(f"fp32 {a[0]:.3f} -> {window(a, 180):.3f}, bf16 {b[0]:.3f} -> {window(b, 180):.3f}; "
      f"worst 20-step window difference {worst:.2%}")
sys.exit(0 if worst < 0.02 and window(a, 180) < a[0] - 1.0 else 1)
PY
pass "stages agree, runs are reproducible, resume is exact, fp16 recovers, bf16 follows fp32"
