#!/usr/bin/env bash
# zerotune train on two GPUs, one rank each (skipped, exit 77, with fewer than two GPUs visible
# or a build without CUDA and NCCL):
#   (a) stages 0-3 on 2 GPUs give the fp32 losses of 1 GPU for the same global batch (16 = 8 x 2
#       ranks = 8 x 2 micro-batches) within 1e-5 relative at every step;
#   (b) checkpoints cross world sizes and devices: saved by 2 GPUs at stage 3, resumed on 1 GPU
#       at stage 0 and on the CPU; saved by 2 CPU ranks at stage 2, resumed on 2 GPUs at stage
#       3; each continues with the uninterrupted run's losses within 1e-5 relative;
#   (c) killing rank 1 (kill -9) ends rank 0 within comm.timeout_s with exit 4 and one line
#       naming the operation it waited in;
#   (d) bf16 on 2 GPUs stays within the noise between two 1-GPU runs that split the same global
#       batch into different micro-batches, with gradients reduced in fp32 and in bf16
#       (zero.reduce_dtype);
#   (e) the scheduling knobs change no fp32 loss: collectives waited at issue
#       (zero.overlap_comm false), no prefetch, every unit persistent.
# ZT_GPU_MULTI_DEVICE=cpu runs the same comparisons on CPU ranks (fp32 for (d)), to check the
# script where no GPU is.
source "$(dirname "$0")/lib/common.sh"
device="${ZT_GPU_MULTI_DEVICE:-cuda}"
mpiexec="${MPIEXEC:-mpiexec}"
if [ "$device" = cuda ]; then
  gpus=$(nvidia-smi -L 2>/dev/null | grep -c "^GPU" || true)
  [ "${gpus:-0}" -ge 2 ] || { echo "skipped: fewer than 2 GPUs visible"; exit 77; }
  ldd "$ZT" | grep -Eq "libnccl|libcublas" || { echo "skipped: zerotune built without CUDA"; exit 77; }
  bf16=bf16
else
  bf16=fp32  # the CPU backend computes in fp32 only
fi
# Open MPI binds each rank to one core unless told otherwise.
bind=()
"$mpiexec" --version 2>/dev/null | grep -q "Open MPI" && bind=(--bind-to none)
started=$(date +%s)

common=(--config "$SRC/tests/data/configs/tiny.yaml" --set model.seq_len=32
        --set train.global_batch_size=16 --set train.micro_batch_size=8 --set train.max_steps=10
        --set train.warmup_steps=2 --set log.every_n_steps=1 --set checkpoint.every_n_steps=5
        --set checkpoint.keep_last=5 --set data.eval_file=)

run() {  # run NAME RANKS DEVICE ARGS...: train into $SCRATCH/NAME, losses in $SCRATCH/NAME.losses
  local name=$1 ranks=$2 dev=$3; shift 3
  local launch=() rc=0
  if [ "$ranks" -gt 1 ]; then launch=("$mpiexec" -n "$ranks" "${bind[@]}"); fi
  "${launch[@]}" "$ZT" train "${common[@]}" --set run.device="$dev" "$@" --run-dir "$SCRATCH/$name" \
    > "$SCRATCH/$name.out" 2>&1 || rc=$?
  [ "$rc" = 0 ] || { cat "$SCRATCH/$name.out"; fail "$name exited $rc"; }
  step_losses "$SCRATCH/$name" > "$SCRATCH/$name.losses"
}

# same_losses A B [FIRST_STEP]: steps FIRST_STEP.. of A and all of B agree within 1e-5 relative.
same_losses() {
  python3 - "$SCRATCH/$1.losses" "$SCRATCH/$2.losses" "${3:-1}" <<'PY'
import sys
a = {int(s): float(l) for s, l in (line.split() for line in open(sys.argv[1]))}
b = {int(s): float(l) for s, l in (line.split() for line in open(sys.argv[2]))}
first = int(sys.argv[3])
a = {s: l for s, l in a.items() if s >= first}
assert sorted(a) == sorted(b) and a, (sorted(a), sorted(b))
worst = max(abs(a[s] - b[s]) / abs(a[s]) for s in a)
print(f"{sys.argv[2].rsplit('/', 1)[1]}: worst relative difference {worst:.2e} over steps {min(a)}-{max(a)}")
sys.exit(0 if worst < 1e-5 else 1)
PY
}

# (a) Stages 0-3 on 2 ranks against 1 rank, same global batch; the .out names the NCCL version,
# and at log.level=debug carries NCCL's own topology report.
run ref_w1 1 "$device" --set train.precision=fp32 --set zero.stage=0
unset NCCL_DEBUG NCCL_DEBUG_SUBSYS  # log.level=debug below asks for NCCL's report itself
for stage in 0 1 2 3; do
  debug=()
  if [ "$stage" = 1 ]; then debug=(--set log.level=debug); fi
  run "z${stage}_w2" 2 "$device" --set train.precision=fp32 --set zero.stage=$stage "${debug[@]}"
  same_losses ref_w1 "z${stage}_w2" || fail "stage $stage on 2 ranks differs from 1 rank"
done
if [ "$device" = cuda ]; then
  grep -q "nccl version=" "$SCRATCH/z3_w2.out" || fail "the .out does not print the NCCL version"
  grep -q "NCCL INFO" "$SCRATCH/z1_w2.out" || fail "log.level=debug does not pass NCCL's report through"
  if grep -q "NCCL INFO" "$SCRATCH/z3_w2.out"; then fail "NCCL's report in the .out at log.level=info"; fi
fi

# (b) The checkpoint matrix.
from_z3="$SCRATCH/z3_w2/checkpoints/step-000005"
[ -d "$from_z3" ] || fail "no checkpoint at step 5 in z3_w2"
run z3_to_w1_z0 1 "$device" --set train.precision=fp32 --set zero.stage=0 --resume "$from_z3"
same_losses z3_w2 z3_to_w1_z0 6 || fail "2 ranks stage 3 -> 1 rank stage 0 does not continue the run"
run z3_to_cpu 1 cpu --set train.precision=fp32 --set zero.stage=0 --resume "$from_z3"
same_losses z3_w2 z3_to_cpu 6 || fail "2 ranks stage 3 -> CPU does not continue the run"
run cpu_z2_w2 2 cpu --set train.precision=fp32 --set zero.stage=2
run cpu_to_z3_w2 2 "$device" --set train.precision=fp32 --set zero.stage=3 \
  --resume "$SCRATCH/cpu_z2_w2/checkpoints/step-000005"
same_losses cpu_z2_w2 cpu_to_z3_w2 6 || fail "2 CPU ranks stage 2 -> 2 ranks stage 3 does not continue the run"

# (c) kill -9 of rank 1 mid-run: rank 0 leaves within comm.timeout_s with exit 4. Each rank runs
# under a shell that records its exit code; a killed rank's shell stays up, so the launcher
# does not end rank 0 itself before rank 0 notices.
timeout_s=5
mkdir -p "$SCRATCH/rc"
wrapper='"$@"; rc=$?; echo $rc > "'"$SCRATCH"'/rc/rank-${OMPI_COMM_WORLD_RANK:-${PMI_RANK:-x}}"
         [ $rc -ge 128 ] && sleep 120; exit 0'
timeout -s KILL 300 "$mpiexec" -n 2 "${bind[@]}" bash -c "$wrapper" rank \
  "$ZT" train "${common[@]}" --set run.device="$device" --set train.precision=fp32 \
  --set zero.stage=3 --set train.max_steps=1000000 --set checkpoint.save_strategy=no \
  --set comm.timeout_s=$timeout_s --run-dir "$SCRATCH/killed" \
  > "$SCRATCH/killed.out" 2> "$SCRATCH/killed.err" &
launcher=$!
trap 'kill -TERM "$launcher" 2> /dev/null || true; rm -rf "$SCRATCH"' EXIT
victim=""
for _ in $(seq 1 1200); do
  n=$(grep -c '"type": *"step"' "$SCRATCH/killed/metrics.jsonl" 2>/dev/null || true)
  if [ "${n:-0}" -ge 3 ]; then
    for pid in $(pgrep -f "^$ZT train .*--run-dir $SCRATCH/killed" || true); do
      tr '\0' '\n' < "/proc/$pid/environ" 2>/dev/null | grep -Eqx "(OMPI_COMM_WORLD_RANK|PMI_RANK)=1" \
        && victim=$pid
    done
    [ -n "$victim" ] && break
  fi
  sleep 0.05
done
[ -n "$victim" ] || { cat "$SCRATCH/killed.err"; fail "no rank 1 to kill"; }
kill_time=$(date +%s)
kill -9 "$victim"
# Rank 0 ends by itself (its shell records the code) or through MPI_Abort, which ends the
# launcher with that code.
launcher_rc=""
for _ in $(seq 1 $(( (timeout_s + 30) * 10 ))); do
  [ -f "$SCRATCH/rc/rank-0" ] && break
  if ! kill -0 "$launcher" 2> /dev/null; then
    set +e; wait "$launcher"; launcher_rc=$?; set -e
    break
  fi
  sleep 0.1
done
elapsed=$(( $(date +%s) - kill_time ))
if [ -f "$SCRATCH/rc/rank-0" ]; then
  rc0=$(cat "$SCRATCH/rc/rank-0")
elif [ -n "$launcher_rc" ]; then
  rc0=$launcher_rc
else
  cat "$SCRATCH/killed.err"; fail "rank 0 still running $elapsed s after rank 1 died"
fi
if [ -z "$launcher_rc" ]; then
  kill -TERM "$launcher" 2> /dev/null || true  # timeout passes it on to the launcher
  wait "$launcher" 2> /dev/null || true
fi
[ "$rc0" = 4 ] || { cat "$SCRATCH/killed.err"; fail "rank 0 exited $rc0 after rank 1 died, expected 4"; }
[ "$elapsed" -le $(( timeout_s + 10 )) ] || fail "rank 0 took $elapsed s with comm.timeout_s=$timeout_s"
operation="(all_reduce|reduce_scatter|all_gather|broadcast|barrier|MPI_[A-Za-z_]+|nccl[A-Za-z]+)"
grep -Eh "$operation.*(did not complete|failed)" "$SCRATCH/killed.err" "$SCRATCH/killed.out" | head -2 \
  | grep . || { cat "$SCRATCH/killed.err"; fail "no line names the operation rank 0 waited in"; }

# (d) bf16: 2 ranks x 8 against 1 rank split 2 x 8 and 4 x 4; the 2-rank run stays within the
# two 1-rank runs' own difference (1.5 times it, at least 2e-3 relative).
run bf16_w1_m8 1 "$device" --set train.precision=$bf16 --set zero.stage=2
run bf16_w1_m4 1 "$device" --set train.precision=$bf16 --set zero.stage=2 --set train.micro_batch_size=4
run bf16_w2 2 "$device" --set train.precision=$bf16 --set zero.stage=2
reduced=(bf16_w2)
if [ "$device" = cuda ]; then
  run bf16_w2_rbf16 2 "$device" --set train.precision=$bf16 --set zero.stage=2 --set zero.reduce_dtype=bf16
  reduced+=(bf16_w2_rbf16)
fi
for r in "${reduced[@]}"; do
python3 - "$SCRATCH"/bf16_w1_m8.losses "$SCRATCH"/bf16_w1_m4.losses "$SCRATCH/$r.losses" <<'PY' \
  || fail "bf16 on 2 ranks ($r) leaves the noise of two 1-rank splits"
import sys
a, b, c = ([float(line.split()[1]) for line in open(p)] for p in sys.argv[1:4])
assert len(a) == len(b) == len(c) == 10, (len(a), len(b), len(c))
noise = max(abs(x - y) / abs(x) for x, y in zip(a, b))
worst = max(abs(x - z) / abs(x) for x, z in zip(a, c))
bound = max(1.5 * noise, 2e-3)
print(f"{sys.argv[3].rsplit('/', 1)[1]}: 1-rank splits differ by {noise:.2e}, 2 ranks from 1 by {worst:.2e} (bound {bound:.2e})")
sys.exit(0 if worst <= bound else 1)
PY
done

# (e) Scheduling knobs: the same fp32 losses as stage 3 with the defaults.
run z3_sync 2 "$device" --set train.precision=fp32 --set zero.stage=3 --set zero.overlap_comm=false
same_losses z3_w2 z3_sync || fail "zero.overlap_comm false changes the losses"
run z3_noprefetch_persist 2 "$device" --set train.precision=fp32 --set zero.stage=3 \
  --set zero.prefetch_bucket_size=0 --set zero.param_persistence_threshold=1000000000
same_losses z3_w2 z3_noprefetch_persist || fail "no prefetch / persistent units change the losses"
pass "2 ranks ($device) match 1 at every stage, checkpoints cross devices and world sizes, a killed rank ends the job with exit 4 in ${elapsed}s, bf16 within noise, knobs keep the losses ($(( $(date +%s) - started ))s)"
