#!/usr/bin/env bash
# ZeRO-Offload and ZeRO-Infinity on CPUs: with the optimizer state in host memory
# (offload_optimizer: cpu) or in a file per rank (nvme), stages 1, 2 and 3 on 1, 2 and 4
# ranks log the same fp32 losses, bit for bit, as the same run with the state on the
# device, and so does stage 3 with its parameter shards in host memory (offload_param: cpu)
# or on NVMe with the optimizer state (offload_param and offload_optimizer nvme: ZeRO-Infinity);
# the nvme files are gone when the run ends.
source "$(dirname "$0")/lib/common.sh"
cfg="$SRC/tests/data/configs/tiny.yaml"
mpiexec="${MPIEXEC:-mpiexec}"
# Three host AdamW threads (the pool reads the cores SLURM gives a task first), so the
# chunked update runs in parallel; BLAS stays on one thread (OPENBLAS_NUM_THREADS).
export SLURM_CPUS_PER_TASK=3
nvme="$SCRATCH/nvme"
mkdir -p "$nvme"
common=(--set train.max_steps=4 --set train.micro_batch_size=2 --set train.global_batch_size=8
        --set log.every_n_steps=1 --set checkpoint.save_strategy=no --set train.eval_strategy=no)

run() {  # run NAME NP ARGS...
  local name=$1 np=$2
  shift 2
  "$mpiexec" -n "$np" "$ZT" train --config "$cfg" "${common[@]}" "$@" \
    --run-dir "$SCRATCH/$name" > "$SCRATCH/$name.out" 2>&1 ||
    { cat "$SCRATCH/$name.out"; fail "$name exited non-zero"; }
  step_losses "$SCRATCH/$name" > "$SCRATCH/$name.losses"
  [ "$(wc -l < "$SCRATCH/$name.losses")" = 4 ] || fail "$name logged $(wc -l < "$SCRATCH/$name.losses") steps"
}

for stage in 1 2 3; do
  for np in 1 2 4; do
    base="s${stage}-n${np}"
    run "$base-none" "$np" --set zero.stage=$stage
    run "$base-cpu" "$np" --set zero.stage=$stage --set zero.offload_optimizer=cpu
    run "$base-nvme" "$np" --set zero.stage=$stage --set zero.offload_optimizer=nvme \
      --set zero.nvme_path="$nvme"
    # A partial offload: the first units' state stays on the device (the tiny model's
    # embeddings, about a quarter of its parameters, with ratio 0.7).
    run "$base-ratio" "$np" --set zero.stage=$stage --set zero.offload_optimizer=cpu \
      --set zero.offload_optimizer_ratio=0.7
    tiers="cpu nvme ratio"
    if [ "$stage" = 3 ]; then  # and the parameter shards in host memory, or on NVMe
      run "$base-param" "$np" --set zero.stage=3 --set zero.offload_optimizer=cpu \
        --set zero.offload_param=cpu
      run "$base-infinity" "$np" --set zero.stage=3 --set zero.offload_optimizer=nvme \
        --set zero.offload_param=nvme --set zero.nvme_path="$nvme"
      tiers="cpu nvme ratio param infinity"
    fi
    for tier in $tiers; do
      diff "$SCRATCH/$base-none.losses" "$SCRATCH/$base-$tier.losses" ||
        fail "stage $stage on $np ranks: $tier offload losses differ from no offload"
    done
    grep -q "offload_optimizer=nvme state_location=\"optimizer state on NVMe in $nvme/" \
      "$SCRATCH/$base-nvme.out" || fail "the .out does not say where the nvme state lives"
    [ -z "$(ls -A "$nvme")" ] || fail "nvme files left behind: $(ls "$nvme")"
  done
done
grep -q "offload_optimizer=cpu .* cpu_threads=3 " "$SCRATCH/s1-n1-cpu.out" ||
  fail "the offloaded step did not run on 3 threads"
grep -q "optimizer_mib=0.00 " "$SCRATCH/s2-n2-nvme.out" ||
  fail "the memory table shows optimizer bytes on the device with offload"
grep -q "host_optimizer_mib=" "$SCRATCH/s2-n2-cpu.out" || fail "no host optimizer bytes line"
grep -q 'state_location="units 0-0 (2[0-9]% of the parameters) in device memory, the rest: optimizer state in host memory"' \
  "$SCRATCH/s2-n2-ratio.out" || fail "the .out does not say which units a partial offload keeps"
grep -Eq "memory rank=0 params_mib=.* optimizer_mib=0.0[1-9]" "$SCRATCH/s2-n1-ratio.out" ||
  fail "the memory table shows no optimizer bytes on the device with a partial offload"
grep -q "offload_param=nvme: stage 3 parameter shards in NVMe in $nvme/zerotune-params-rank-00000" \
  "$SCRATCH/s3-n2-infinity.out" || fail "the .out does not say where the nvme parameter shards live"
grep -Eq "nvme_params_mib=[0-9.]*[1-9]" "$SCRATCH/s3-n2-infinity.out" ||
  fail "the memory table shows no nvme parameter bytes"
pass "cpu and nvme offload match no offload bit for bit at stages 1-3 on 1, 2 and 4 ranks"
