#!/usr/bin/env bash
# zerotune estimate: one row per ZeRO stage and offload choice, the config's own marked; a
# verdict against --gpu-memory; `zerotune train` logs the same row for its config at start;
# bad arguments exit 2. With the optimizer state offloaded to host memory or NVMe at stages
# 1-3, and stage 3's parameter shards in host memory, the row's host and nvme bytes equal what
# a real run's memory table reports; a node whose SLURM allocation is too small for them says
# host_fits=false and the proposed change is not an offload. (The device byte counts are
# checked against the engine and the model by test_mpi's and test_train's memory_estimate
# cases.)
source "$(dirname "$0")/lib/common.sh"
cd "$SCRATCH"
# The host memory comes from this machine's /proc/meminfo unless a case sets SLURM's.
unset SLURM_MEM_PER_NODE SLURM_MEM_PER_CPU SLURM_NTASKS_PER_NODE SLURM_TASKS_PER_NODE
mpiexec="${MPIEXEC:-mpiexec}"
shape=(--set model.n_layer=2 --set model.n_head=2 --set model.n_embd=32 --set model.seq_len=16
       --set train.micro_batch_size=2 --set train.global_batch_size=4 --set zero.stage=2)
"$ZT" estimate "${shape[@]}" --world 2 > est.txt
# Stage 0, then stages 1-3 each with the state on the device, in host memory and on NVMe.
[ "$(grep -c '^estimate stage=' est.txt)" = 10 ] || fail "expected 10 rows: $(cat est.txt)"
[ "$(grep -c '^estimate stage=[123] offload=nvme offload_param=none .* nvme_gib=' est.txt)" = 3 ] ||
  fail "expected an nvme row per stage 1-3: $(cat est.txt)"
[ "$(grep -c 'chosen=true' est.txt)" = 1 ] || fail "expected one chosen row"
grep -q '^estimate stage=2 offload=none offload_param=none .* unknown .*chosen=true' est.txt ||
  fail "chosen row"
grep -q '^estimate config=.* ntasks_per_node=2 host_memory_gib=[0-9.]* host_memory_source=MemAvailable$' \
  est.txt || fail "no host memory on the header: $(head -1 est.txt)"
grep -q 'host_fits=true' est.txt || fail "no host verdict: $(cat est.txt)"
"$ZT" estimate "${shape[@]}" --world 2 --gpu-memory 0.0001 > small.txt
grep -q 'stage=0 .* does_not_fit max_micro_batch=0' small.txt || fail "no does_not_fit verdict"
"$ZT" estimate "${shape[@]}" --world 2 --gpu-memory 80 > large.txt
grep -q 'stage=3 offload=cpu .* fits max_micro_batch=[1-9]' large.txt || fail "no fits verdict"
"$mpiexec" -n 2 "$ZT" train "${shape[@]}" --set train.max_steps=1 --run-dir run > train.out 2>&1 \
  || { cat train.out; fail "train failed"; }
chosen=$(grep 'chosen=true' est.txt | sed 's/ chosen=true$//')
grep -qxF "$chosen" train.out || fail "train did not log its estimate row: $chosen"

# Host and nvme bytes of offloaded runs: the estimate's chosen row against rank 0's line
# "memory rank=0 host_optimizer_mib=H nvme_optimizer_mib=N host_params_mib=P" of a real run
# (host = H + P). The table prints MiB to 2 decimals: each of its figures is within 0.005.
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" | head -1; }
nvme="$SCRATCH/nvme"
mkdir -p "$nvme"
wide=(--set model.n_layer=2 --set model.n_head=4 --set model.n_embd=128 --set model.seq_len=32
      --set train.micro_batch_size=2 --set train.global_batch_size=4 --set train.max_steps=1
      --set checkpoint.save_strategy=no --set train.eval_strategy=no --set zero.nvme_path="$nvme")
for choice in 1-cpu 1-nvme 2-cpu 2-nvme 3-cpu 3-nvme 3-cpu-param; do
  IFS=- read -r stage tier param <<< "$choice"
  offload_param=none
  [ -z "$param" ] || offload_param=cpu
  args=("${wide[@]}" --set zero.stage="$stage" --set zero.offload_optimizer="$tier"
        --set zero.offload_param="$offload_param")
  "$ZT" estimate "${args[@]}" --world 2 > "est-$choice.txt"
  row=$(grep 'chosen=true' "est-$choice.txt") || fail "$choice: no chosen row: $(cat "est-$choice.txt")"
  grep -q "^estimate stage=$stage offload=$tier offload_param=$offload_param " <<< "$row" ||
    fail "$choice: chosen row is another choice: $row"
  "$mpiexec" -n 2 "$ZT" train "${args[@]}" --run-dir "run-$choice" > "train-$choice.out" 2>&1 ||
    { cat "train-$choice.out"; fail "$choice: train failed"; }
  table=$(grep -o 'memory rank=0 host_optimizer_mib=.*' "train-$choice.out") ||
    fail "$choice: no host memory line in the run's table"
  awk -v host_bytes="$(field host_bytes <<< "$row")" -v nvme_bytes="$(field nvme_bytes <<< "$row")" \
      -v host_gib="$(field host_gib <<< "$row")" -v nvme_gib="$(field nvme_gib <<< "$row")" \
      -v h="$(field host_optimizer_mib <<< "$table")" -v n="$(field nvme_optimizer_mib <<< "$table")" \
      -v p="$(field host_params_mib <<< "$table")" '
    function abs(x) { return x < 0 ? -x : x }
    BEGIN {
      mib = 1024 * 1024
      ok = abs(host_bytes / mib - (h + p)) <= 0.0101 && abs(nvme_bytes / mib - n) <= 0.0051 &&
           abs(host_gib * 1024 - (h + p)) <= 0.52 && abs(nvme_gib * 1024 - n) <= 0.52
      ok = ok && h > 0 && (n > 0) == (nvme_bytes > 0)
      exit ok ? 0 : 1
    }' || fail "$choice: estimate $row against the run's $table"
done
[ -z "$(ls -A "$nvme")" ] || fail "nvme files left behind: $(ls "$nvme")"

# A node with 1 MiB for its ranks: no offloaded row fits its host memory. On a GPU whose memory
# lies between the offloaded rows' totals and the others', the proposed change is an offload
# only while the host has room for it.
big=(--set model.n_layer=12 --set model.n_head=12 --set model.n_embd=768 --set model.seq_len=1024
     --set model.vocab_size=50257 --set train.precision=bf16 --set train.micro_batch_size=1
     --set train.global_batch_size=8 --set zero.stage=0)
"$ZT" estimate "${big[@]}" --world 8 > big.txt
gpu=$(awk '/^estimate stage=/ {
         for (i = 1; i <= NF; ++i) { split($i, kv, "="); f[kv[1]] = kv[2] }
         if (f["offload"] == "none") { if (!on || f["total_gib"] < on) on = f["total_gib"] }
         else if (!off || f["total_gib"] < off) off = f["total_gib"]
       }
       END { if (off < on) printf "%.4f", (off + on) / 2 }' big.txt)
[ -n "$gpu" ] || fail "no GPU size between offloaded and on-device rows: $(cat big.txt)"
SLURM_MEM_PER_NODE=1000000 "$ZT" estimate "${big[@]}" --world 8 --gpu-memory "$gpu" > roomy.txt
grep -q '^estimate the chosen row does not fit; the cheapest change that fits: zero.stage [123] with zero.offload_optimizer: cpu' \
  roomy.txt || fail "no offload proposed with host memory to spare: $(cat roomy.txt)"
SLURM_MEM_PER_NODE=1 "$ZT" estimate "${big[@]}" --world 8 --gpu-memory "$gpu" > cramped.txt
grep -q 'host_memory_gib=0.00 host_memory_source=SLURM_MEM_PER_NODE$' cramped.txt ||
  fail "header does not show SLURM's memory: $(head -1 cramped.txt)"
[ "$(grep -c '^estimate stage=[123] offload=\(cpu\|nvme\) .* host_fits=false ' cramped.txt)" = 6 ] ||
  fail "offloaded rows fit 1 MiB of host memory: $(cat cramped.txt)"
grep -q '^estimate stage=0 .* host_fits=true ' cramped.txt || fail "stage 0 needs no host memory"
line=$(grep '^estimate the chosen row does not fit' cramped.txt) || fail "no proposal: $(cat cramped.txt)"
! grep -q offload <<< "$line" || fail "an offload proposed that the host cannot hold: $line"

set +e
"$ZT" estimate --world zero > /dev/null 2> err.txt
code=$?
set -e
[ "$code" = 2 ] && grep -q -- '--world: expected a positive number, got "zero"' err.txt \
  || fail "bad --world: exit $code $(cat err.txt)"
pass "estimate rows, verdicts, host and nvme bytes against real runs, and the train start line agree"
