#!/usr/bin/env bash
# Bad input ends with one line naming the file and field, exit code 2, and no job directory.
source "$(dirname "$0")/lib/common.sh"
cd "$SCRATCH"

expect_error() {  # expect_error <pattern> <command...>
  local pattern=$1; shift
  set +e; "$@" > out.txt 2> err.txt; local rc=$?; set -e
  [ "$rc" = 2 ] || { cat err.txt; fail "exit $rc (expected 2) for: $*"; }
  [ "$(wc -l < err.txt)" = 1 ] || { cat err.txt; fail "expected one line on stderr for: $*"; }
  grep -q -- "$pattern" err.txt || { cat err.txt; fail "stderr lacks '$pattern' for: $*"; }
}

printf 'train:\n  micro_batch_size: eight\n' > bad_type.yaml
expect_error 'bad_type.yaml:2: train.micro_batch_size' "$ZT" train --config bad_type.yaml
printf 'train:\n  lr: 1e-4\n  learning_rate: 3\n' > unknown.yaml
expect_error 'unknown.yaml:3: train.learning_rate' "$ZT" train --config unknown.yaml
printf 'model: [unclosed\n' > malformed.yaml
expect_error 'malformed.yaml:' "$ZT" train --config malformed.yaml
expect_error 'missing.yaml' "$ZT" train --config missing.yaml
expect_error 'train.lr' "$ZT" train --set train.lr=abc
expect_error 'global_batch_size' "$ZT" train --set train.global_batch_size=10 --set train.micro_batch_size=4
expect_error 'nope.h5' "$ZT" train --set data.train_file=nope.h5 --set run.root="$SCRATCH/runs"
expect_error 'unknown command' "$ZT" frobnicate
# A start that fails leaves no run directory behind ("(no summary)" rows in a report).
[ -z "$(ls -A "$SCRATCH/runs" 2>/dev/null)" ] || fail "a failed start left $(ls "$SCRATCH/runs")"
expect_error 'nope.h5' "$ZT" train --set data.train_file=nope.h5 --run-dir "$SCRATCH/given"
[ ! -e "$SCRATCH/given" ] || fail "a failed start left its --run-dir"
mkdir "$SCRATCH/mine"
expect_error 'nope.h5' "$ZT" train --set data.train_file=nope.h5 --run-dir "$SCRATCH/mine"
[ -d "$SCRATCH/mine" ] || fail "a failed start removed a directory it did not create"
# Every command answers --help with its usage and exit 0.
for command in train estimate config export report prep tokenize; do
  out=$("$ZT" $command --help 2>&1) || fail "zerotune $command --help exited $?"
  echo "$out" | grep -q "^usage: zerotune $command" || fail "zerotune $command --help printed no usage: $out"
done
pass "bad input rejected with one line and exit 2"
