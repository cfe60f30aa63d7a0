#!/bin/bash
# zerotune prep squad on the real SQuAD v1.1 dev file at seq_len 512: one example per question
# (10,570 questions, shared data README), with loss on everything and on the answer only.
set -euo pipefail
BIN=${ZEROTUNE_BINARY:?}
DATA=${ZEROTUNE_SHARED_DATA:?}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

declare -A loss_tokens
for loss in all answer; do
  out="$WORK/squad.$loss.h5"
  line=$("$BIN" prep squad --input "$DATA/squad-v1.1/dev-v1.1.json" \
    --tokenizer "$DATA/gpt2-tokenizer" --seq-len 512 --loss-on "$loss" --out "$out") ||
    fail "prep squad --loss-on $loss (is prep wired in src/main.cpp?)"
  echo "$line"
  for field in questions=10570 examples=10570 seq_len=512 "loss_on=$loss" split=validation; do
    [[ " $line " == *" $field "* ]] || fail "expected $field in: $line"
  done
  [[ "$line" =~ \ truncated_examples=[0-9]+\  ]] || fail "no truncated_examples in: $line"
  [[ "$line" =~ \ loss_tokens=([0-9]+)\  ]] || fail "no loss_tokens in: $line"
  loss_tokens[$loss]=${BASH_REMATCH[1]}
  [ -s "$out" ] && [ ! -e "$out.tmp" ] || fail "$out missing or $out.tmp left"
done
# Loss on the answer only: fewer loss tokens, but at least the answer and EOS of each question.
[ "${loss_tokens[answer]}" -lt "${loss_tokens[all]}" ] && [ "${loss_tokens[answer]}" -ge 21140 ] ||
  fail "loss_tokens: all=${loss_tokens[all]} answer=${loss_tokens[answer]}"
echo "prep_squad: ok"
