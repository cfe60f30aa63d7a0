#!/bin/bash
# Every bad input to zerotune prep / tokenize: exit code 2, one line on stderr naming the file
# (and line / byte offset / JSON position where there is one), and no output file left behind;
# an existing output file is left untouched.
set -uo pipefail
BIN=${ZEROTUNE_BINARY:?}
DATA=${ZEROTUNE_SHARED_DATA:?}
TOK="$DATA/gpt2-tokenizer"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
for command in prep tokenize; do
  "$BIN" $command --help >/dev/null 2>&1 ||
    { echo "FAIL: '$BIN $command --help' fails: src/main.cpp must dispatch $command" >&2; exit 1; }
done
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

# expect_error NAME EXPECTED_SUBSTRING -- COMMAND...
expect_error() {
  local name=$1 expected=$2
  shift 3
  rm -f "$WORK/out.h5" "$WORK/out.h5.tmp"
  "$@" >"$WORK/stdout" 2>"$WORK/stderr" </dev/null
  local rc=$? lines
  lines=$(wc -l <"$WORK/stderr")
  [ "$rc" -eq 2 ] || fail "$name: exit code $rc, expected 2"
  [ "$lines" -eq 1 ] || fail "$name: $lines lines on stderr, expected 1: $(cat "$WORK/stderr")"
  grep -qF -- "$expected" "$WORK/stderr" || fail "$name: stderr '$(cat "$WORK/stderr")' lacks '$expected'"
  [ ! -e "$WORK/out.h5" ] && [ ! -e "$WORK/out.h5.tmp" ] || fail "$name: output file left behind"
  echo "$name: $(cat "$WORK/stderr")"
}

printf ' = Title = \n good line\n bad \xff byte\n' >"$WORK/bad_utf8.raw"
printf '{"version": "1.1",\n "data": [\n  {"paragraphs": [}\n]}\n' >"$WORK/malformed.json"
printf '{"version": "v2.0", "data": []}' >"$WORK/v2.json"
printf '{"data": [{"paragraphs": [{"context": "c", "qas": [{"id": "1", "question": "q", "answers": [], "is_impossible": true}]}]}]}' >"$WORK/impossible.json"
mkdir "$WORK/tok" && cp "$TOK/vocab.json" "$WORK/tok/"
printf 'not json' >"$WORK/tok_bad_vocab.json"
mkdir "$WORK/tok2" && cp "$WORK/tok_bad_vocab.json" "$WORK/tok2/vocab.json" && cp "$TOK/merges.txt" "$WORK/tok2/"
WIKI="$DATA/wikitext-2-raw/wiki.valid.raw"
SQUAD="$DATA/squad-v1.1/dev-v1.1.json"

expect_error "missing input" "$WORK/nope.raw: cannot read (No such file or directory)" -- \
  "$BIN" prep wikitext --input "$WORK/nope.raw" --tokenizer "$TOK" --out "$WORK/out.h5"
expect_error "invalid UTF-8" "$WORK/bad_utf8.raw:3: invalid UTF-8 at byte offset 28" -- \
  "$BIN" prep wikitext --input "$WORK/bad_utf8.raw" --tokenizer "$TOK" --out "$WORK/out.h5"
expect_error "malformed JSON" "$WORK/malformed.json:3:19: malformed JSON" -- \
  "$BIN" prep squad --input "$WORK/malformed.json" --tokenizer "$TOK" --out "$WORK/out.h5"
expect_error "SQuAD v2 version" "$WORK/v2.json: version \"v2.0\" is SQuAD v2.0, which is not supported" -- \
  "$BIN" prep squad --input "$WORK/v2.json" --tokenizer "$TOK" --out "$WORK/out.h5"
expect_error "SQuAD v2 is_impossible" "$WORK/impossible.json: data[0].paragraphs[0].qas[0].is_impossible" -- \
  "$BIN" prep squad --input "$WORK/impossible.json" --tokenizer "$TOK" --out "$WORK/out.h5"
expect_error "tokenizer without merges.txt" "$WORK/tok/merges.txt: cannot read" -- \
  "$BIN" prep wikitext --input "$WIKI" --tokenizer "$WORK/tok" --out "$WORK/out.h5"
expect_error "malformed vocab.json" "$WORK/tok2/vocab.json:1:2: malformed JSON" -- \
  "$BIN" prep wikitext --input "$WIKI" --tokenizer "$WORK/tok2" --out "$WORK/out.h5"
expect_error "missing tokenizer dir" "$WORK/none: tokenizer directory does not exist" -- \
  "$BIN" prep squad --input "$SQUAD" --tokenizer "$WORK/none" --out "$WORK/out.h5"
expect_error "unknown option" "prep wikitext: unknown option --sequence-length" -- \
  "$BIN" prep wikitext --input "$WIKI" --tokenizer "$TOK" --sequence-length 5 --out "$WORK/out.h5"
expect_error "bad seq-len" "prep squad: --seq-len: expected a positive integer <= 1048576, got \"-3\"" -- \
  "$BIN" prep squad --input "$SQUAD" --tokenizer "$TOK" --seq-len=-3 --out "$WORK/out.h5"
expect_error "tokenize invalid UTF-8" "$WORK/bad_utf8.raw:3: invalid UTF-8" -- \
  "$BIN" tokenize --tokenizer "$TOK" --input "$WORK/bad_utf8.raw"
expect_error "decode bad id" "<stdin>:1: token id 99999 is outside the vocabulary" -- \
  bash -c "echo 99999 | '$BIN' tokenize --tokenizer '$TOK' --decode"

# A failed run leaves an existing output file as it was.
echo "previous" >"$WORK/keep.h5"
"$BIN" prep squad --input "$WORK/v2.json" --tokenizer "$TOK" --out "$WORK/keep.h5" 2>/dev/null
[ "$(cat "$WORK/keep.h5")" = "previous" ] || fail "a failed prep replaced an existing output"
[ ! -e "$WORK/keep.h5.tmp" ] || fail "keep.h5.tmp left behind"

[ "$failures" -eq 0 ] || { echo "$failures failures" >&2; exit 1; }
echo "prep_errors: ok"
