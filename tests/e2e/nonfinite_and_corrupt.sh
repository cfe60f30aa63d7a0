#!/usr/bin/env bash
# Bad numbers do not become checkpoints: a diverging run stops (exit 3) naming the step with
# `latest` on the last finite checkpoint; NaN in model.init weights or in a checkpoint, and
# flipped bits in a checkpoint (Fletcher32 per chunk), are caught on load, naming the tensor
# or dataset; `--resume auto` skips such a checkpoint for the newest good one.
source "$(dirname "$0")/lib/common.sh"
cfg="$SRC/tests/data/configs/tiny.yaml"
PY="${ZEROTUNE_PYTHON:-python3}"
"$PY" -c "import h5py, torch, transformers" 2> /dev/null || { echo "SKIP: needs h5py, torch, transformers"; exit 77; }

# A diverging run: checkpoint every step; step 2 goes NaN.
set +e
"$ZT" train --config "$cfg" --set train.max_steps=6 --set train.lr=1e30 --set train.warmup_steps=0 \
  --set checkpoint.every_n_steps=1 --set checkpoint.keep_last=5 --run-dir "$SCRATCH/diverge" \
  > "$SCRATCH/diverge.out" 2> "$SCRATCH/diverge.err"
rc=$?
set -e
[ "$rc" = 3 ] || fail "a diverging run exited $rc, expected 3"
[ "$(grep -c . "$SCRATCH/diverge.err")" = 1 ] || { cat "$SCRATCH/diverge.err"; fail "not one error line"; }
grep -q "^zerotune: error: step 2: loss is .*nan" "$SCRATCH/diverge.err" || { cat "$SCRATCH/diverge.err"; fail "the error does not name step 2"; }
[ "$(cat "$SCRATCH/diverge/checkpoints/latest")" = step-000001 ] || fail "latest is not the last finite step"
[ ! -e "$SCRATCH/diverge/checkpoints/step-000002" ] || fail "a non-finite step was saved"

# model.init with a NaN in one tensor.
"$PY" - "$SCRATCH/init" <<'PY'
import math, sys, torch, transformers
cfg = transformers.GPT2Config(n_layer=2, n_head=2, n_embd=32, n_positions=32, vocab_size=257,
                              bos_token_id=0, eos_token_id=0)
model = transformers.GPT2LMHeadModel(cfg)
with torch.no_grad():
    model.transformer.h[1].mlp.c_fc.bias[3] = math.nan
model.save_pretrained(sys.argv[1], safe_serialization=True)
PY
set +e
"$ZT" train --config "$cfg" --set train.max_steps=2 --set model.init="$SCRATCH/init/model.safetensors" \
  --run-dir "$SCRATCH/naninit" > /dev/null 2> "$SCRATCH/naninit.err"
rc=$?
set -e
[ "$rc" = 2 ] || { cat "$SCRATCH/naninit.err"; fail "NaN in model.init: exit $rc, expected 2"; }
grep -q "model.safetensors: transformer.h.1.mlp.c_fc.bias\[3\] is nan" "$SCRATCH/naninit.err" \
  || { cat "$SCRATCH/naninit.err"; fail "NaN in model.init: the error does not name the tensor"; }

# Checkpoints of steps 4 and 8; step 8 is then damaged in two ways.
"$ZT" train --config "$cfg" --set train.max_steps=8 --set checkpoint.every_n_steps=4 \
  --set checkpoint.keep_last=5 --run-dir "$SCRATCH/base" > /dev/null
damage() {  # $1 run dir, $2 nan|flip
  "$PY" - "$1/checkpoints/step-000008/state.h5" "$2" <<'PY'
import sys, h5py, numpy as np
path, how = sys.argv[1], sys.argv[2]
name = "units/h.0/params"
if how == "nan":
    with h5py.File(path, "r+") as f:
        d = f[name]
        v = d[...]
        v[5] = np.nan
        d[...] = v
else:
    with h5py.File(path, "r") as f:
        assert f[name].fletcher32, "checkpoint datasets carry no checksum"
        offset = f[name].id.get_chunk_info(0).byte_offset
    with open(path, "r+b") as raw:
        raw.seek(offset + 40)
        b = raw.read(1)
        raw.seek(offset + 40)
        raw.write(bytes([b[0] ^ 0x10]))
PY
}
for how in nan flip; do
  d="$SCRATCH/$how"
  cp -a "$SCRATCH/base" "$d"
  damage "$d" "$how"
  set +e
  "$ZT" train --config "$cfg" --set train.max_steps=10 --set checkpoint.every_n_steps=4 \
    --set checkpoint.keep_last=5 --run-dir "$d" --resume "$d/checkpoints/step-000008" > /dev/null 2> "$d.named.err"
  rc=$?
  set -e
  [ "$rc" = 2 ] || { cat "$d.named.err"; fail "$how: resuming the damaged checkpoint exited $rc, expected 2"; }
  grep -q "state.h5: /units/h.0/params" "$d.named.err" || { cat "$d.named.err"; fail "$how: the error does not name the dataset"; }
  "$ZT" train --config "$cfg" --set train.max_steps=10 --set checkpoint.every_n_steps=4 \
    --set checkpoint.keep_last=5 --run-dir "$d" --resume auto > "$d.out"
  grep -q "skipping corrupt checkpoint step-000008: .*/units/h.0/params" "$d.out" || { cat "$d.out"; fail "$how: no line saying step-000008 was skipped"; }
  grep -q "^resumed from step 4 " "$d.out" || fail "$how: did not resume from step 4"
done
grep -q "is nan" "$SCRATCH/nan.named.err" || fail "nan: the error does not say nan"
grep -qi "checksum" "$SCRATCH/flip.named.err" || fail "flip: the error does not say checksum"
pass "non-finite and corrupt weights never load; divergence stops before a checkpoint"
