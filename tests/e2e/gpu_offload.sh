#!/usr/bin/env bash
# ZeRO-Offload on one GPU (skipped, exit 77, where no GPU is visible): the pinned host state,
# the copy stream and the host AdamW.
#   - fp32, stages 1 and 3: offload_optimizer cpu and nvme (and at stage 3 offload_param cpu,
#     and offload_param with offload_optimizer nvme; at stage 1 a partial offload)
#     give the losses of no offload within 1e-5 relative (the host and device AdamW round
#     differently only in the last bit);
#   - bf16, stage 2: cpu offload stays within run-to-run noise of no offload;
#   - the memory table shows no optimizer bytes on the GPU and the host bytes on their line;
#   - on two GPUs where there are two: stages 2 and 3 with cpu and nvme offload (and stage 3's
#     shards on NVMe) follow the two-GPU curve without offload within 1e-5 (fp32).
source "$(dirname "$0")/lib/common.sh"
nvidia-smi -L 2>/dev/null | grep -q GPU || { echo "skipped: no GPU"; exit 77; }

data="${ZEROTUNE_SHARED_DATA:?}"
"$ZT" prep wikitext --input "$data/wikitext-2-raw/wiki.valid.raw" --tokenizer "$data/gpt2-tokenizer" \
  --seq-len 128 --out "$SCRATCH/train.h5" > /dev/null
mkdir -p "$SCRATCH/nvme"
common=(--set run.device=cuda --set model.n_layer=2 --set model.n_head=4 --set model.n_embd=128
        --set model.seq_len=128 --set model.vocab_size=50257 --set data.train_file="$SCRATCH/train.h5"
        --set train.micro_batch_size=8 --set train.global_batch_size=16
        --set train.lr=1e-3 --set train.warmup_steps=5 --set log.every_n_steps=1
        --set checkpoint.save_strategy=no --set train.eval_strategy=no)

launch=()  # the two-GPU section below sets an mpiexec launch
run() {  # run NAME ARGS...: train into $SCRATCH/NAME, its losses in $SCRATCH/NAME.losses
  local name=$1; shift
  "${launch[@]}" "$ZT" train "${common[@]}" "$@" --run-dir "$SCRATCH/$name" \
    > "$SCRATCH/$name.out" 2>&1 || { cat "$SCRATCH/$name.out"; fail "$name exited $?"; }
  step_losses "$SCRATCH/$name" > "$SCRATCH/$name.losses"
}

close() {  # close A B TOLERANCE: every loss of B within TOLERANCE relative of A's
  python3 - "$SCRATCH/$1.losses" "$SCRATCH/$2.losses" "$3" <<'PY'
import sys
a = [float(l.split()[1]) for l in open(sys.argv[1])]
b = [float(l.split()[1]) for l in open(sys.argv[2])]
assert len(a) == len(b) > 0, (len(a), len(b))
worst = max(abs(x - y) / abs(x) for x, y in zip(a, b))
print(f"{sys.argv[2]}: worst relative difference {worst:.2e}")
sys.exit(0 if worst <= float(sys.argv[3]) else 1)
PY
}

for stage in 1 3; do
  fp32=(--set train.precision=fp32 --set zero.stage=$stage --set train.max_steps=12)
  run "fp32_s${stage}_none" "${fp32[@]}"
  run "fp32_s${stage}_cpu" "${fp32[@]}" --set zero.offload_optimizer=cpu
  run "fp32_s${stage}_nvme" "${fp32[@]}" --set zero.offload_optimizer=nvme \
    --set zero.nvme_path="$SCRATCH/nvme"
  close "fp32_s${stage}_none" "fp32_s${stage}_cpu" 1e-5 || fail "stage $stage: cpu offload left the fp32 curve"
  close "fp32_s${stage}_none" "fp32_s${stage}_nvme" 1e-5 || fail "stage $stage: nvme offload left the fp32 curve"
done
run fp32_s3_param --set train.precision=fp32 --set zero.stage=3 --set train.max_steps=12 \
  --set zero.offload_optimizer=cpu --set zero.offload_param=cpu
close fp32_s3_none fp32_s3_param 1e-5 || fail "stage 3 with parameter shards on the host left the curve"
run fp32_s1_ratio --set train.precision=fp32 --set zero.stage=1 --set train.max_steps=12 \
  --set zero.offload_optimizer=cpu --set zero.offload_optimizer_ratio=0.05
close fp32_s1_none fp32_s1_ratio 1e-5 || fail "a partial offload left the curve"
# The embeddings (93% of this model) stay on the device, the layers go to the host.
grep -q 'state_location="units 0-0 (9[0-9]% of the parameters) in device memory' \
  "$SCRATCH/fp32_s1_ratio.out" || fail "the partial offload did not keep the embeddings' state"
run fp32_s3_infinity --set train.precision=fp32 --set zero.stage=3 --set train.max_steps=12 \
  --set zero.offload_optimizer=nvme --set zero.offload_param=nvme --set zero.nvme_path="$SCRATCH/nvme"
close fp32_s3_none fp32_s3_infinity 1e-5 || fail "stage 3 with parameter shards on NVMe left the curve"
[ -z "$(ls -A "$SCRATCH/nvme")" ] || fail "nvme files left behind: $(ls "$SCRATCH/nvme")"
grep -q "optimizer_mib=0.00 " "$SCRATCH/fp32_s1_cpu.out" || fail "optimizer bytes on the GPU with offload"
grep -q "state_location=\"optimizer state in pinned host memory\"" "$SCRATCH/fp32_s1_cpu.out" ||
  fail "the .out does not say the state is in pinned host memory"
grep -q "host_optimizer_mib=" "$SCRATCH/fp32_s1_cpu.out" || fail "no host optimizer bytes line"

bf16=(--set train.precision=bf16 --set zero.stage=2 --set train.max_steps=30)
run bf16_none "${bf16[@]}"
run bf16_cpu "${bf16[@]}" --set zero.offload_optimizer=cpu
close bf16_none bf16_cpu 2e-2 || fail "bf16 cpu offload left the curve beyond run-to-run noise"

# Two GPUs where there are two: NCCL with each rank's state (and stage 3's shards) offloaded.
where="one GPU"
if [ "$(nvidia-smi -L | grep -c '^GPU')" -ge 2 ]; then
  mpiexec="${MPIEXEC:-mpiexec}"
  bind=()
  "$mpiexec" --version 2>/dev/null | grep -q "Open MPI" && bind=(--bind-to none)
  launch=("$mpiexec" -n 2 "${bind[@]}")
  for stage in 2 3; do
    fp32=(--set train.precision=fp32 --set zero.stage=$stage --set train.max_steps=12)
    run "np2_s${stage}_none" "${fp32[@]}"
    run "np2_s${stage}_cpu" "${fp32[@]}" --set zero.offload_optimizer=cpu
    run "np2_s${stage}_nvme" "${fp32[@]}" --set zero.offload_optimizer=nvme \
      --set zero.nvme_path="$SCRATCH/nvme"
    close "np2_s${stage}_none" "np2_s${stage}_cpu" 1e-5 || fail "2 GPUs, stage $stage: cpu offload left the curve"
    close "np2_s${stage}_none" "np2_s${stage}_nvme" 1e-5 || fail "2 GPUs, stage $stage: nvme offload left the curve"
  done
  run np2_s3_infinity --set train.precision=fp32 --set zero.stage=3 --set train.max_steps=12 \
    --set zero.offload_optimizer=nvme --set zero.offload_param=nvme --set zero.nvme_path="$SCRATCH/nvme"
  close np2_s3_none np2_s3_infinity 1e-5 || fail "2 GPUs: stage 3 with parameter shards on NVMe left the curve"
  [ -z "$(ls -A "$SCRATCH/nvme")" ] || fail "nvme files left behind: $(ls "$SCRATCH/nvme")"
  where="one and two GPUs"
fi
pass "cpu and nvme offload on $where follow the curve without offload"
