#!/usr/bin/env bash
# Hostile and odd input (huge values, huge files, cut files, names from job schedulers): one
# line on stderr naming the file and the field, exit 2, in bounded time and memory, and
# nothing of the user's replaced. Each case was once an allocation failure, a crash, a silent
# truncation, a busy loop or a 10 MB error line.
source "$(dirname "$0")/lib/common.sh"
cd "$SCRATCH"
TOK="${ZEROTUNE_SHARED_DATA:?}/gpt2-tokenizer"
WIKI="$ZEROTUNE_SHARED_DATA/wikitext-2-raw/wiki.valid.raw"
failures=0
bad() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

# expect_error NAME PATTERN COMMAND...: exit 2, one line of at most 4 KiB naming PATTERN,
# within 20 s and 2 GiB of memory.
expect_error() {
  local name=$1 pattern=$2
  shift 2
  set +e
  (ulimit -v 2097152; timeout 20 "$@") > out.txt 2> err.txt < /dev/null
  local rc=$?
  set -e
  [ "$rc" = 2 ] || { bad "$name: exit $rc, expected 2: $(head -c 300 err.txt)"; return 0; }
  [ "$(wc -l < err.txt)" = 1 ] || bad "$name: $(wc -l < err.txt) lines on stderr, expected 1"
  [ "$(wc -c < err.txt)" -le 4096 ] || bad "$name: $(wc -c < err.txt) bytes on stderr"
  grep -qF -- "$pattern" err.txt || bad "$name: stderr lacks '$pattern': $(head -c 300 err.txt)"
  echo "$name: $(head -c 200 err.txt)"
}

# Bounded messages: a 10 MB value is quoted by a short prefix (on the command line, 120 kB:
# Linux refuses single arguments over 128 KiB).
printf 'model:\n  arch: %s\n' "$(head -c 10485760 /dev/zero | tr '\0' x)" > huge_value.yaml
expect_error "10 MB value in a file" 'huge_value.yaml:2: model.arch' "$ZT" config --config huge_value.yaml
expect_error "/dev/zero as config" '/dev/zero: larger than 64 MiB' "$ZT" config --config /dev/zero
huge=$(head -c 120000 /dev/zero | tr '\0' x)
expect_error "120 kB value in --set" 'train.lr: expected a positive number' "$ZT" config --set "train.lr=$huge"
expect_error "120 kB run.name" 'run.name: expected a non-empty string of at most 200 bytes' \
  "$ZT" config --set "run.name=$huge"
expect_error "120 kB --set without =" '--set "xxxx' "$ZT" config --set "$huge"
unset huge

# Huge but well-formed numbers: a documented bound, named before anything is allocated.
for field in model.n_layer model.n_embd model.n_head model.vocab_size model.seq_len train.epochs; do
  for value in 1099511627776 4611686018427387904; do
    expect_error "$field=$value" "--set $field: expected a positive integer <=" \
      "$ZT" train --set "$field=$value" --set run.root="$SCRATCH/runs"
  done
done
expect_error "prefetch 1e9" "data.prefetch_steps: expected a non-negative integer <= 64" \
  "$ZT" config --set data.prefetch_steps=1000000000
for field in checkpoint.keep_last data.prefetch_steps; do
  expect_error "$field=2^32" "--set $field: expected" "$ZT" config --set "$field=4294967296"
done
expect_error "monitor near 2^63" "monitor.interval_ms: expected a positive integer <= 3600000" \
  "$ZT" config --set monitor.interval_ms=9223372036854775000
expect_error "micro and global batch 2^62" "train.micro_batch_size: expected a positive integer <=" \
  "$ZT" train --set train.micro_batch_size=4611686018427387904 \
  --set train.global_batch_size=4611686018427387904 --set run.root="$SCRATCH/runs"
# Within the bounds, but past this machine's memory: the bytes are checked before allocating.
expect_error "model past memory" "model.n_layer 1024, model.n_embd 65536" \
  "$ZT" train --set model.n_layer=1024 --set model.n_embd=65536 --set model.n_head=1 \
  --set run.root="$SCRATCH/runs"
[ ! -e "$SCRATCH/runs" ] || bad "a rejected config left a job directory"

# The reader's cost grows as n log n with the number of keys, and aliases cannot multiply.
python3 -c 'print("run:"); [print(f"  k{i}: 1") for i in range(300000)]' > many_keys.yaml
expect_error "300k keys" 'many_keys.yaml:2: run.k0: unknown key' "$ZT" config --config many_keys.yaml
{
  echo 'a: &a [x, x, x, x, x, x, x, x, x, x]'
  prev=a
  for level in b c d e f g h i; do
    echo "$level: &$level [*$prev, *$prev, *$prev, *$prev, *$prev, *$prev, *$prev, *$prev, *$prev, *$prev]"
    prev=$level
  done
} > laughs.yaml
expect_error "nested aliases" 'laughs.yaml:' "$ZT" config --config laughs.yaml

# run.name: over-long names fail at `zerotune config`; job names are taken literally.
expect_error "run.name of 300 bytes" 'run.name: expected a non-empty string of at most 200' \
  "$ZT" config --set "run.name=$(printf 'n%.0s' $(seq 300))"
for name in 'exp #2' '[ablation]' 'a: b' 'null' '@home' '"quoted"x'; do
  "$ZT" config --set "run.name=$name" > resolved.yaml 2> err.txt || bad "run.name '$name' rejected: $(cat err.txt)"
  got=$(python3 -c 'import sys, yaml' 2>/dev/null && python3 -c 'import yaml; print(yaml.safe_load(open("resolved.yaml"))["run"]["name"])' || grep -m1 '^  name:' resolved.yaml | sed 's/^  name: //')
  case $got in
    "$name" | "\"${name//\"/\\\"}\"") ;;
    *) bad "run.name '$name' resolved to '$got'" ;;
  esac
done

# data.train_file unset or not a token file: the message names the field.
printf 'data:\n  train_file: ""\n' > no_data.yaml
expect_error "data.train_file unset" "data.train_file: not set" \
  "$ZT" train --config no_data.yaml --set run.root="$SCRATCH/runs"
expect_error "data.train_file /dev/null" "data.train_file: /dev/null: not an HDF5 file" \
  "$ZT" train --set data.train_file=/dev/null --set run.root="$SCRATCH/runs"
expect_error "data.train_file a directory" "data.train_file: $SCRATCH: is a directory" \
  "$ZT" train --set data.train_file="$SCRATCH" --set run.root="$SCRATCH/runs"
rm -rf "$SCRATCH/runs"

# A real run (one step, a checkpoint) under a job name with odd characters: the directory
# name is sanitised as documented, and its files become the material for the cases below.
cfg="$SRC/tests/data/configs/tiny.yaml"
"$ZT" train --config "$cfg" --set train.max_steps=1 --set data.eval_file= \
  --set checkpoint.every_n_steps=1 --set 'run.name=exp #2' --set run.root="$SCRATCH/runs" \
  > run.out 2>&1 || { cat run.out; fail "the one-step run failed"; }
run_dir=$(ls -d "$SCRATCH"/runs/exp__2-* 2>/dev/null | head -1)
[ -n "$run_dir" ] || fail "run.name 'exp #2' did not make runs/exp__2-<id>: $(ls "$SCRATCH/runs")"
grep -q '^  name: "exp #2"' "$run_dir/config.yaml" || bad "config.yaml does not record run.name 'exp #2'"

# Truncated token files: exit 2 naming the file.
h5="$run_dir/synthetic-train.h5"
size=$(stat -c %s "$h5")
for cut in half 1024 8; do
  [ "$cut" = half ] && bytes=$((size / 2)) || bytes=$cut
  head -c "$bytes" "$h5" > "cut-$cut.h5"
  expect_error "token file cut to $cut" "data.train_file: $SCRATCH/cut-$cut.h5: " \
    "$ZT" train --config "$cfg" --set data.train_file="$SCRATCH/cut-$cut.h5" \
    --set data.eval_file= --set train.max_steps=2 --set run.root="$SCRATCH/runs2"
done

# Malformed checkpoint meta.json: exit 2, one line naming meta.json and the field.
meta=$(ls -d "$run_dir"/checkpoints/step-*/meta.json | head -1)
cp "$meta" meta.good
resume() {
  expect_error "$1" "$2" "$ZT" train --config "$cfg" --set train.max_steps=2 --set data.eval_file= \
    --run-dir "$run_dir" --resume auto
  cp meta.good "$meta"
}
head -c 40 meta.good > "$meta"; resume "meta.json truncated" "meta.json: not valid JSON"
sed 's/"world_size": [0-9]*/"world_size": "four"/' meta.good > "$meta"
resume "meta.json string world_size" "meta.json: world_size: expected an integer"
echo '[1, 2]' > "$meta"; resume "meta.json an array" "meta.json: expected a JSON object, got array"
sed 's/"layout": "[a-z_]*"/"layout": 7/' meta.good > "$meta"
resume "meta.json numeric layout" "meta.json: layout: expected"

# prep: --out naming its input (also by another spelling), a directory input, a number
# past a double in SQuAD JSON.
head -c 20000 "$WIKI" > small.raw
cp small.raw small.before
expect_error "prep --out = --input" "--out names an input of prep" \
  "$ZT" prep wikitext --input small.raw --tokenizer "$TOK" --out small.raw --seq-len 64
expect_error "prep --out = ./--input" "--out names an input of prep" \
  "$ZT" prep wikitext --input small.raw --tokenizer "$TOK" --out ./small.raw --seq-len 64
cmp -s small.raw small.before || bad "prep replaced its input"
mkdir -p in_dir
expect_error "prep directory input" "in_dir: is a directory" \
  "$ZT" prep wikitext --input in_dir --tokenizer "$TOK" --out dir.h5
printf '{"version": "1.1", "data": [{"paragraphs": [{"context": "c", "qas": [{"id": "1", "question": "q", "answers": [{"text": "c", "answer_start": 1e999}]}]}]}]}' > big_number.json
expect_error "SQuAD number past a double" "big_number.json: " \
  "$ZT" prep squad --input big_number.json --tokenizer "$TOK" --out squad.h5
expect_error "prep --seq-len 2^40" "--seq-len: expected a positive integer <= 1048576" \
  "$ZT" prep wikitext --input small.raw --tokenizer "$TOK" --out x.h5 --seq-len 1099511627776

# CRLF line endings change nothing prep produces: same articles, tokens and examples.
head -n 800 "$WIKI" > lf.raw  # whole lines: every "\n" gets its "\r"
sed 's/$/\r/' lf.raw > crlf.raw
"$ZT" prep wikitext --input lf.raw --tokenizer "$TOK" --out lf.h5 --seq-len 64 --split x > lf.out
"$ZT" prep wikitext --input crlf.raw --tokenizer "$TOK" --out crlf.h5 --seq-len 64 --split x > crlf.out
counts() { grep -o 'documents=[0-9]* tokens=[0-9]* examples=[0-9]*' "$1"; }
[ "$(counts lf.out)" = "$(counts crlf.out)" ] ||
  bad "CRLF input: $(counts crlf.out), LF input: $(counts lf.out)"
[ "$(counts lf.out | sed 's/documents=\([0-9]*\).*/\1/')" -gt 1 ] || bad "prep found one article in lf.raw"

[ "$failures" -eq 0 ] || fail "$failures hostile inputs mishandled"
pass "hostile input: one bounded line, exit 2, nothing replaced"
