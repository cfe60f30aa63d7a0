#!/bin/bash
# zerotune prep wikitext on the real WikiText-2 valid and test files at seq_len 1024, and
# zerotune tokenize on the published example. Expected counts: the published whole-file token
# counts (reference-tokenizations.json: 249,887 and 286,221) plus one EOS per article (60 and
# 62 articles, shared data README).
set -euo pipefail
BIN=${ZEROTUNE_BINARY:?}
DATA=${ZEROTUNE_SHARED_DATA:?}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

ids=$(echo "Hello world" | "$BIN" tokenize --tokenizer "$DATA/gpt2-tokenizer") ||
  fail "zerotune tokenize failed (is it wired in src/main.cpp?)"
[ "$ids" = "15496 995" ] || fail "tokenize 'Hello world' gave '$ids', expected '15496 995'"
text=$(echo "15496 995" | "$BIN" tokenize --tokenizer "$DATA/gpt2-tokenizer" --decode)
[ "$text" = "Hello world" ] || fail "tokenize --decode gave '$text'"

check() {  # split documents tokens examples dropped
  local out="$WORK/wiki.$1.h5" line
  line=$("$BIN" prep wikitext --input "$DATA/wikitext-2-raw/wiki.$1.raw" \
    --tokenizer "$DATA/gpt2-tokenizer" --seq-len 1024 --out "$out") || fail "prep wiki.$1.raw"
  echo "$line"
  for field in "documents=$2" "tokens=$3" "examples=$4" "dropped_tail_tokens=$5" "seq_len=1024"; do
    [[ " $line " == *" $field "* ]] || fail "wiki.$1.raw: expected $field in: $line"
  done
  [[ "$line" == *" wall_s="* ]] || fail "no wall_s in: $line"
  [ -s "$out" ] || fail "$out not written"
  [ ! -e "$out.tmp" ] || fail "$out.tmp left behind"
  [ "$(od -An -c -N4 "$out" | tr -d ' ')" = "211HDF" ] || fail "$out is not HDF5"
}
# 249887 + 60 = 249947 = 244 * 1024 + 91;  286221 + 62 = 286283 = 279 * 1024 + 587
check valid 60 249947 244 91
check test 62 286283 279 587
echo "prep_wikitext: ok"
