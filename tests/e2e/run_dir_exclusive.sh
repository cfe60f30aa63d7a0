#!/usr/bin/env bash
# Runs outside SLURM get timestamped directories; two started in the same second must not
# share one (config and checkpoints from different runs): each run creates its own.
source "$(dirname "$0")/lib/common.sh"
cfg="$SRC/tests/data/configs/tiny.yaml"
root="$SCRATCH/runs"
mkdir -p "$root"
# Another run holds this second's directory (and the next few seconds', for a slow start).
for s in 0 1 2 3 4 5; do
  d="$root/tiny-$(date -d "+$s seconds" +%Y%m%d-%H%M%S)"
  mkdir -p "$d" && echo other > "$d/marker"
done
"$ZT" train --config "$cfg" --set train.max_steps=2 --set run.root="$root" > "$SCRATCH/one.out"
for d in "$root"/tiny-*; do
  [ -f "$d/marker" ] || continue
  [ "$(ls "$d")" = marker ] || fail "the run wrote into another run's directory $d"
done

# Two at once: two directories, each with its own config and checkpoints.
rm -rf "$root"; mkdir -p "$root"
"$ZT" train --config "$cfg" --set train.max_steps=4 --set run.root="$root" > "$SCRATCH/a.out" 2>&1 &
a=$!
"$ZT" train --config "$cfg" --set train.max_steps=4 --set run.root="$root" > "$SCRATCH/b.out" 2>&1 &
b=$!
wait "$a" || { cat "$SCRATCH/a.out"; fail "first concurrent run failed"; }
wait "$b" || { cat "$SCRATCH/b.out"; fail "second concurrent run failed"; }
n=$(ls -d "$root"/tiny-* | wc -l)
[ "$n" = 2 ] || fail "two concurrent runs made $n directories, expected 2"
for d in "$root"/tiny-*; do
  [ -f "$d/config.yaml" ] && [ -f "$d/checkpoints/step-000004/meta.json" ] || fail "$d is incomplete"
done
pass "each run creates its own job directory"
