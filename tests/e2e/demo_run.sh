#!/usr/bin/env bash
# The built-in demo (no config file, no data files) trains, its loss falls, and the job
# directory holds what DESIGN.md lists.
source "$(dirname "$0")/lib/common.sh"
cd "$SCRATCH"
"$ZT" train --set train.max_steps=60 --set log.every_n_steps=10 --set run.root="$SCRATCH/runs" > demo.out
dir=$(ls -d "$SCRATCH"/runs/demo-*)
for f in config.yaml metrics.jsonl memory/rank-00000.csv logs/rank-00000.log checkpoints/latest; do
  [ -e "$dir/$f" ] || fail "missing $f in the job directory"
done
grep -Eq "^step=60/60 epoch=1 elapsed=[0-9]+:[0-5][0-9]:[0-5][0-9] eta=0:00:00 loss=" demo.out ||
  fail "no step=60/60 line with elapsed= and eta=0:00:00"
grep -q "^eval epoch=1 eval_loss=" demo.out || fail "no eval line"
grep -q "^train_summary train_runtime=" demo.out || fail "no train_summary line"
step_losses "$dir" > losses.txt
first=$(head -1 losses.txt | cut -d' ' -f2)
last=$(tail -1 losses.txt | cut -d' ' -f2)
python3 -c "import sys; f,l=float('$first'),float('$last'); sys.exit(0 if l < f - 1.0 else 1)" \
  || fail "loss did not fall by more than 1 nat: $first -> $last"
[ "$(wc -l < "$dir/memory/rank-00000.csv")" -ge 3 ] || fail "memory monitor wrote too few samples"
# The resolved config is a valid config: it runs as given.
"$ZT" config --config "$dir/config.yaml" > /dev/null || fail "config.yaml does not load back"
pass "demo loss $first -> $last"
