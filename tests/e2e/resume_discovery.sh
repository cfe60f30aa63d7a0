#!/usr/bin/env bash
# `--resume auto` finds the newest complete, verified checkpoint whatever checkpoints/latest
# says; a directory holding checkpoints is never started over; a rewind does not mix two
# runs' checkpoints; rotation goes by step number and never deletes a later step.
source "$(dirname "$0")/lib/common.sh"
cfg="$SRC/tests/data/configs/tiny.yaml"
PY="${ZEROTUNE_PYTHON:-python3}"
train() { "$ZT" train --config "$cfg" --set checkpoint.every_n_steps=4 --set checkpoint.keep_last=5 "$@"; }

# The run every case starts from: checkpoints of steps 4, 8 and 12, latest = step-000012.
train --set train.max_steps=12 --run-dir "$SCRATCH/base" > /dev/null
[ "$(cat "$SCRATCH/base/checkpoints/latest")" = step-000012 ] || fail "base run: latest is not step-000012"

# Copies the base run to $SCRATCH/$1, applies the damage in $2, resumes with auto and
# expects the run to continue from step $3.
resume_case() {
  local name=$1 damage=$2 expect=$3 d="$SCRATCH/$1" rc
  cp -a "$SCRATCH/base" "$d"
  (cd "$d/checkpoints" && eval "$damage")
  set +e; train --set train.max_steps=16 --run-dir "$d" --resume auto > "$d.out" 2> "$d.err"; rc=$?; set -e
  [ "$rc" = 0 ] || { cat "$d.out" "$d.err"; fail "$name: resume exited $rc"; }
  grep -q "^resumed from step $expect " "$d.out" || { cat "$d.out"; fail "$name: did not resume from step $expect"; }
  grep -q "resume auto: continuing from .*step-0000*$expect " "$d.out" || fail "$name: no line saying which checkpoint"
  for s in 000004 000008; do
    [ -f "$d/checkpoints/step-$s/meta.json" ] || fail "$name: intact step-$s was deleted"
  done
  [ "$(cat "$d/checkpoints/latest")" = step-000016 ] || fail "$name: latest does not name the final checkpoint"
}
resume_case latest_empty ': > latest' 12
resume_case latest_garbage 'printf "\x01\x02garbage\n" > latest' 12
resume_case latest_missing_dir 'echo step-000099 > latest' 12
resume_case latest_deleted 'rm latest' 12
resume_case latest_is_dir 'rm latest && mkdir latest' 12
resume_case latest_names_incomplete 'mkdir step-000020 && echo step-000020 > latest' 12
resume_case latest_names_older 'echo step-000004 > latest' 12
resume_case meta_deleted 'rm step-000012/meta.json' 8
resume_case state_deleted 'rm step-000012/state.h5' 8
grep -q "skipping incomplete checkpoint step-000012: .*meta.json: missing" "$SCRATCH/meta_deleted.out" \
  || fail "no line saying why step-000012 was skipped"

# Without --run-dir (outside SLURM) --resume auto finds the run's directory by its
# checkpoints, not by `latest`.
"$ZT" train --config "$cfg" --set train.max_steps=8 --set checkpoint.every_n_steps=4 \
  --set run.root="$SCRATCH/root" > /dev/null
rm "$SCRATCH"/root/tiny-*/checkpoints/latest
"$ZT" train --config "$cfg" --set train.max_steps=12 --set checkpoint.every_n_steps=4 \
  --set run.root="$SCRATCH/root" --resume auto > "$SCRATCH/root.out"
grep -q "^resumed from step 8 " "$SCRATCH/root.out" || fail "resume auto without --run-dir started over"
[ "$(ls -d "$SCRATCH"/root/tiny-* | wc -l)" = 1 ] || fail "resume auto without --run-dir made a new directory"

# No usable checkpoint among several: refuse (exit 2) and leave everything as it was.
cp -a "$SCRATCH/base" "$SCRATCH/none"
rm "$SCRATCH"/none/checkpoints/step-*/meta.json
ls -R "$SCRATCH/none/checkpoints" > "$SCRATCH/none.before"
set +e; train --set train.max_steps=16 --run-dir "$SCRATCH/none" --resume auto > /dev/null 2> "$SCRATCH/none.err"; rc=$?; set -e
[ "$rc" = 2 ] || fail "resume auto with no usable checkpoint exited $rc, expected 2"
grep -q "holds checkpoints but none is complete" "$SCRATCH/none.err" || fail "no refusal line"
[ "$(wc -l < "$SCRATCH/none.err")" = 1 ] || fail "refusal is not one line"
ls -R "$SCRATCH/none/checkpoints" | cmp -s - "$SCRATCH/none.before" || fail "the refused run changed checkpoints/"

# A fresh run into a directory holding only an incomplete checkpoint is refused as well.
mkdir -p "$SCRATCH/partial/checkpoints/step-000004"
set +e; train --set train.max_steps=4 --run-dir "$SCRATCH/partial" > /dev/null 2> "$SCRATCH/partial.err"; rc=$?; set -e
[ "$rc" = 2 ] || fail "a fresh run into a directory with an incomplete checkpoint exited $rc, expected 2"
grep -q "already holds checkpoints" "$SCRATCH/partial.err" || fail "no 'already holds checkpoints' line"

# Rewind: resume step 4 with another learning rate; the run's own step 8 replaces the old
# one, the old run's later checkpoints move aside untouched, latest names the final one.
cp -a "$SCRATCH/base" "$SCRATCH/rewind"
train --set train.max_steps=10 --set train.lr=1.0e-3 --run-dir "$SCRATCH/rewind" \
  --resume "$SCRATCH/rewind/checkpoints/step-000004" > "$SCRATCH/rewind.out"
ck="$SCRATCH/rewind/checkpoints"
grep -q "lr: 0.001" "$ck/step-000008/meta.json" || fail "rewind: step-000008 is still the earlier run's"
[ ! -e "$ck/step-000012" ] || fail "rewind: the earlier run's step-000012 stays among this run's checkpoints"
ls "$ck"/superseded-*/step-000012/meta.json > /dev/null 2>&1 || fail "rewind: step-000012 was not kept aside"
grep -q "moved to" "$SCRATCH/rewind.out" || fail "rewind: no line saying where the later checkpoints went"
[ "$(cat "$ck/latest")" = step-000010 ] || fail "rewind: latest is $(cat "$ck/latest"), expected step-000010"

# Rotation by step number across a change of width (step-999998 < step-1000000), keep 2.
cp -a "$SCRATCH/base" "$SCRATCH/wide"
"$PY" - "$SCRATCH/wide/checkpoints" <<'PY'
import h5py, json, os, sys
ck = sys.argv[1]
old, new = os.path.join(ck, "step-000012"), os.path.join(ck, "step-999996")
os.rename(old, new)
with h5py.File(os.path.join(new, "state.h5"), "r+") as f:
    f.attrs.modify("step", 999996)
    f.attrs.modify("optimizer_steps", 999996)
meta = json.load(open(os.path.join(new, "meta.json")))
meta["step"] = meta["optimizer_steps"] = 999996
json.dump(meta, open(os.path.join(new, "meta.json"), "w"))
open(os.path.join(ck, "latest"), "w").write("step-999996\n")
PY
"$ZT" train --config "$cfg" --set train.max_steps=1000002 --set checkpoint.every_n_steps=2 \
  --set checkpoint.keep_last=2 --run-dir "$SCRATCH/wide" --resume auto > "$SCRATCH/wide.out"
kept=$(cd "$SCRATCH/wide/checkpoints" && ls -d step-* | sort -t- -k2 -n | tr '\n' ' ')
[ "$kept" = "step-1000000 step-1000002 " ] || fail "rotation kept $kept, expected step-1000000 step-1000002"
pass "resume picks the newest verified checkpoint; refusals, rewind and rotation hold"
