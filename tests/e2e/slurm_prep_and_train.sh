#!/usr/bin/env bash
# The data path of a cluster user: `sbatch jobs/prep_data.slurm` tokenizes WikiText-2 and
# SQuAD into ZT_DATA_DIR (a second submission keeps the finished files), then
# jobs/baseline.slurm and jobs/zero1.slurm train on those files through ZT_DATA_DIR and
# ZT_DATASET. Uses the real raw files and GPT-2 tokenizer in shared/data. Needs
# tests/slurm/install-deps.sh; starts tests/slurm/cluster.sh unless it is up.
# shellcheck source=../slurm/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../slurm/lib.sh"
shared=${ZEROTUNE_SHARED_DATA:-$zt_src/../shared/data}
[[ -f $shared/gpt2-tokenizer/vocab.json ]] || fail "no GPT-2 tokenizer in $shared (ZEROTUNE_SHARED_DATA)"
[[ -x $zt_bin ]] || fail "zerotune not built: $zt_bin"
slurm_test_begin
mkdir -p "$zt_work/logs"

# The raw layout prep_data.slurm expects under ZT_RAW_DIR, cut from the real files so that the
# evaluations stay short (shared/data has no train splits: the test split stands in).
raw=$zt_work/raw
data=$zt_work/data
mkdir -p "$raw/wikitext-2-raw" "$raw/squad-v1.1"
head -n 300 "$shared/wikitext-2-raw/wiki.test.raw" >"$raw/wikitext-2-raw/wiki.train.raw"
head -n 100 "$shared/wikitext-2-raw/wiki.valid.raw" >"$raw/wikitext-2-raw/wiki.valid.raw"
python3 - "$shared/squad-v1.1/dev-v1.1.json" "$raw/squad-v1.1" <<'PY'
import json, sys
squad = json.load(open(sys.argv[1], encoding="utf-8"))
for name, first, last in (("train-v1.1.json", 0, 4), ("dev-v1.1.json", 4, 6)):
    article = dict(squad["data"][0], paragraphs=squad["data"][0]["paragraphs"][first:last])
    json.dump({"version": squad["version"], "data": [article]},
              open(f"{sys.argv[2]}/{name}", "w", encoding="utf-8"))
PY
prep_env=(ZT_BIN="$zt_bin" ZT_SRUN_MPI=pmi2 ZT_RAW_DIR="$raw" ZT_DATA_DIR="$data"
  ZT_TOKENIZER_DIR="$shared/gpt2-tokenizer" ZT_SEQ_LEN=128)
files=(wikitext-2-train.h5 wikitext-2-valid.h5 squad-train.h5 squad-valid.h5)

note "sbatch jobs/prep_data.slurm: WikiText-2 and SQuAD into ZT_DATA_DIR"
id=$(export "${prep_env[@]}" && submit --cpus-per-task=1 "$zt_src/jobs/prep_data.slurm")
state=$(wait_job "$id" 120)
out=$zt_work/logs/prep_data-$id.out
cat "$out"
[[ $state == COMPLETED ]] || fail "prep job $id ended $state"
for f in "${files[@]}"; do
  [[ -s $data/$f ]] || fail "prep_data.slurm did not write $data/$f"
  grep -q "^prep .* seq_len=128 .*out=$data/$f" "$out" || fail "no prep line for $f in the .out"
done
grep -q "^job: data ready in $data" "$out" || fail "no 'data ready' line"

note "prep_data.slurm again: finished files are kept (what a requeued prep job relies on)"
id=$(export "${prep_env[@]}" && submit --cpus-per-task=1 "$zt_src/jobs/prep_data.slurm")
state=$(wait_job "$id" 60)
out=$zt_work/logs/prep_data-$id.out
cat "$out"
[[ $state == COMPLETED ]] || fail "second prep job $id ended $state"
[[ $(grep -c "exists; skipping" "$out") == 4 ]] || fail "the second prep job did not keep the 4 files"
! grep -q "^prep " "$out" || fail "the second prep job tokenized again"

note "baseline.slurm on wikitext-2 and zero1.slurm on squad, through ZT_DATA_DIR"
train_env=(ZT_BIN="$zt_bin" ZT_SRUN_MPI=pmi2 ZT_CONFIG="$zt_src/tests/slurm/cpu_tiny.yaml"
  ZT_RUN_ROOT="$zt_work/runs" ZT_DATA_DIR="$data"
  ZT_SET="model.vocab_size=50257 model.seq_len=128 train.max_steps=6 log.every_n_steps=1 checkpoint.every_n_steps=0")
cpu_args=(--gpus-per-node=0 --nodes=1 --ntasks-per-node=2 --cpus-per-task=1 --time=10)
base=$(export "${train_env[@]}" && submit "${cpu_args[@]}" "$zt_src/jobs/baseline.slurm")
zero1=$(export "${train_env[@]}" ZT_DATASET=squad && submit "${cpu_args[@]}" "$zt_src/jobs/zero1.slurm")
check_training() { # check_training ID NAME DATASET STAGE
  local id=$1 name=$2 dataset=$3 stage=$4 state out
  state=$(wait_job "$id" 180)
  out=$zt_work/logs/$name-$id.out
  cat "$out"
  [[ $state == COMPLETED ]] || fail "$name job $id ended $state"
  grep -q -- "--set data.train_file=$data/$dataset-train.h5 --set data.eval_file=$data/$dataset-valid.h5" \
    "$out" || fail "$name did not point data.train_file/eval_file at ZT_DATA_DIR's $dataset files"
  grep -Eq "^run .*zero_stage=$stage .*world_size=2 " "$out" || fail "$name did not run stage $stage on 2 ranks"
  grep -Eq "^step=6/6 " "$out" || fail "$name did not reach step 6"
  grep -Eq "^eval .*eval_loss=" "$out" || fail "$name did not evaluate on $dataset-valid.h5"
  grep -q "$data/$dataset-train.h5" "$zt_work/runs/$name-$id/config.yaml" ||
    fail "$name's config.yaml does not record the train file"
}
check_training "$base" baseline wikitext-2 0
check_training "$zero1" zero1 squad 1
echo "PASS: prep_data.slurm wrote 4 token files and kept them on resubmission; baseline and zero1 trained on them"
