#!/usr/bin/env bash
# Two SLURM nodes, one MPI world: `srun --mpi=pmi2 -N2 -n4` places two ranks on each node and
# they talk over MPI; then `sbatch jobs/zero3_2node.slurm` (CPU overrides, 2 ranks per node)
# runs zerotune across both nodes and leaves the job directory the docs describe.
# Needs tests/slurm/install-deps.sh; starts tests/slurm/cluster.sh unless it is up.
# shellcheck source=../slurm/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../slurm/lib.sh"
slurm_test_begin
probe=$(build_probe)
mkdir -p "$zt_work/logs"

note "srun --mpi=pmi2 -N2 --ntasks-per-node=2: ranks on two nodes, one MPI world"
out=$(cd "$zt_work" && timeout 60 srun --mpi=pmi2 -N2 --ntasks-per-node=2 -n4 "$probe") ||
  fail "srun of the MPI probe failed"
echo "$out"
lines=$(grep -c '^probe ' <<<"$out" || true)
((lines == 4)) || fail "expected 4 probe lines, got $lines"
# One world of 4: a broken PMI gives 4 worlds of size 1 and all-reduce sums of 0.
[[ $(grep -c ' size=4 ' <<<"$out") == 4 ]] || fail "not one MPI world of size 4 (PMI wiring)"
[[ $(grep -c ' allreduce_sum=6$' <<<"$out") == 4 ]] || fail "all-reduce across the nodes gave a wrong sum"
for r in 0 1 2 3; do
  grep -q "^probe rank=$r size=4 procid=$r " <<<"$out" || fail "MPI rank $r is not SLURM task $r"
done
nodeids=$(sed -n 's/.* nodeid=\([0-9]*\) .*/\1/p' <<<"$out" | sort | uniq -c | awk '{print $2 ":" $1}' | xargs)
[[ $nodeids == "0:2 1:2" ]] || fail "expected 2 ranks on SLURM node 0 and 2 on node 1, got '$nodeids'"
names=$(sed -n 's/.* node=\([^ ]*\) .*/\1/p' <<<"$out" | sort -u | xargs)
[[ $names == "node1 node2" ]] || fail "expected ranks on node1 and node2, got '$names'"

note "sbatch jobs/zero3_2node.slurm with the probe as the program: the job script on two nodes"
id=$(ZT_BIN=$probe ZT_CONFIG=$zt_src/configs/demo.yaml ZT_SRUN_MPI=pmi2 ZT_RUN_ROOT=$zt_work/probe-runs \
  ZT_SET="train.max_steps=5" \
  submit --gpus-per-node=0 --ntasks-per-node=2 --cpus-per-task=1 --time=5 \
  "$zt_src/jobs/zero3_2node.slurm" --set log.every_n_steps=1)
state=$(wait_job "$id" 90)
out_file=$zt_work/logs/zero3_2node-$id.out
cat "$out_file"
[[ $state == COMPLETED ]] || fail "job $id ended $state"
grep -q "^topology world_size=4 num_nodes=2 " "$out_file" || fail "the job did not run 4 ranks on 2 nodes"
grep -q -- "--set zero.stage=3 --set zero.offload=false --set train.max_steps=5 --set log.every_n_steps=1" \
  "$out_file" || fail "the job script did not pass its stage, ZT_SET and the sbatch arguments in order"
grep -q "^train_summary steps=5" "$out_file" || fail "the probe did not finish its 5 steps"
[[ -d $zt_work/probe-runs/zero3_2node-$id/checkpoints ]] ||
  fail "no job directory <ZT_RUN_ROOT>/<job name>-<job id> from run.root/run.name"

note "sbatch jobs/zero3_2node.slurm with zerotune: ZeRO-3 training on two nodes"
[[ -x $zt_bin ]] || fail "zerotune not built: $zt_bin"
id=$(ZT_BIN=$zt_bin ZT_CONFIG=$zt_src/tests/slurm/cpu_tiny.yaml ZT_SRUN_MPI=pmi2 ZT_RUN_ROOT=$zt_work/runs \
  ZT_SET="train.max_steps=40 checkpoint.every_n_steps=20 log.every_n_steps=5" \
  submit --gpus-per-node=0 --ntasks-per-node=2 --cpus-per-task=1 --time=10 \
  "$zt_src/jobs/zero3_2node.slurm")
state=$(wait_job "$id" 240)
out_file=$zt_work/logs/zero3_2node-$id.out
cat "$out_file"
[[ $state == COMPLETED ]] || fail "job $id ended $state"
[[ $(job_field "$id" ExitCode) == 0:0 ]] || fail "job $id exit code $(job_field "$id" ExitCode)"
grep -Eq "^topology world_size=4 num_nodes=2 node_names=node1,node2 launcher=slurm job_id=$id( |\$)" "$out_file" ||
  fail "the .out topology line does not show 4 ranks on node1 and node2 under SLURM job $id"
grep -Eq "^run strategy=zero3 zero_stage=3 " "$out_file" || fail "the job did not train with ZeRO stage 3"
grep -Eq "^step=40/40 " "$out_file" || fail "no step=40/40 line"
grep -q "^checkpoint saved at step 40 (reason: end)" "$out_file" || fail "no final checkpoint line"
grep -q "^train_summary " "$out_file" || fail "no train_summary line"

run_dir=$zt_work/runs/zero3_2node-$id
[[ -d $run_dir ]] || fail "no job directory $run_dir (<run.root>/<job name>-<job id>)"
for f in config.yaml metrics.jsonl memory/rank-00000.csv logs/rank-00000.log logs/rank-00003.log \
  checkpoints/latest checkpoints/step-000020 checkpoints/step-000040; do
  [[ -e $run_dir/$f ]] || fail "job directory lacks $f"
done
grep -q "step-000040" "$run_dir/checkpoints/latest" || fail "checkpoints/latest does not name step-000040"
grep -Eq "^ *stage: 3" "$run_dir/config.yaml" || fail "config.yaml does not record zero stage 3"
losses=$(step_losses "$run_dir")
[[ $(tail -n 1 <<<"$losses" | cut -d' ' -f1) == 40 ]] || fail "metrics.jsonl does not reach step 40"
[[ $(wc -l <<<"$losses") -ge 8 ]] || fail "metrics.jsonl has fewer step records than logged steps"
echo "PASS: two SLURM nodes, one MPI world; ZeRO-3 job $id trained 40 steps across node1 and node2"
