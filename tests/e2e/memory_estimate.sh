#!/usr/bin/env bash
# zerotune estimate: one row per ZeRO stage and offload choice, the config's own marked; a
# verdict against --gpu-memory; `zerotune train` logs the same row for its config at start;
# bad arguments exit 2. (The byte counts themselves are checked against the engine and the
# model by test_mpi's and test_train's memory_estimate cases.)
source "$(dirname "$0")/lib/common.sh"
cd "$SCRATCH"
shape=(--set model.n_layer=2 --set model.n_head=2 --set model.n_embd=32 --set model.seq_len=16
       --set train.micro_batch_size=2 --set train.global_batch_size=4 --set zero.stage=2)
"$ZT" estimate "${shape[@]}" --world 2 > est.txt
[ "$(grep -c '^estimate stage=' est.txt)" = 7 ] || fail "expected 7 rows: $(cat est.txt)"
[ "$(grep -c 'chosen=true' est.txt)" = 1 ] || fail "expected one chosen row"
grep -q '^estimate stage=2 offload=none .* unknown .*chosen=true' est.txt || fail "chosen row"
"$ZT" estimate "${shape[@]}" --world 2 --gpu-memory 0.0001 > small.txt
grep -q 'stage=0 .* does_not_fit max_micro_batch=0' small.txt || fail "no does_not_fit verdict"
"$ZT" estimate "${shape[@]}" --world 2 --gpu-memory 80 > large.txt
grep -q 'stage=3 offload=cpu .* fits max_micro_batch=[1-9]' large.txt || fail "no fits verdict"
mpiexec="${MPIEXEC:-mpiexec}"
"$mpiexec" -n 2 "$ZT" train "${shape[@]}" --set train.max_steps=1 --run-dir run > train.out 2>&1 \
  || { cat train.out; fail "train failed"; }
chosen=$(grep 'chosen=true' est.txt | sed 's/ chosen=true$//')
grep -qxF "$chosen" train.out || fail "train did not log its estimate row: $chosen"
set +e
"$ZT" estimate --world zero > /dev/null 2> err.txt
code=$?
set -e
[ "$code" = 2 ] && grep -q -- '--world: expected a positive number, got "zero"' err.txt \
  || fail "bad --world: exit $code $(cat err.txt)"
pass "estimate rows, verdicts, and the train start line agree"
