#!/usr/bin/env bash
# bench/multi_gpu_bench.py end to end on CPU ranks (a tiny fp32 model, ZeRO-3 on 2 ranks and
# on 1): the commands run, the runs' metrics and memory tables are read back, and the table
# and its JSON carry consistent figures. The GPU figures themselves come from a GPU node.
source "$(dirname "$0")/lib/common.sh"
"${ZEROTUNE_PYTHON:-python3}" "$SRC/bench/multi_gpu_bench.py" --zerotune "$ZT" --mpiexec "${MPIEXEC:-mpiexec}" \
  --data "${ZEROTUNE_SHARED_DATA:?}" --device cpu --skip-peer --only zero3 --steps 2 --warmup 1 \
  --cache-dir "$SCRATCH/cache" --json "$SCRATCH/r.json" > "$SCRATCH/table.txt" 2> "$SCRATCH/progress.txt" \
  || { cat "$SCRATCH/progress.txt" "$SCRATCH/table.txt"; fail "the benchmark failed"; }
cat "$SCRATCH/table.txt"
grep -q "ZeRO-3: .* ms (.*% of the step)" "$SCRATCH/table.txt" || fail "no exposed-communication line"
python3 - "$SCRATCH/r.json" "$SCRATCH/cache/runs" <<'PY' || fail "the JSON does not match the runs"
import json, sys
rows = json.load(open(sys.argv[1]))
assert [(r["system"], r["world"]) for r in rows] == \
    [("zerotune ZeRO-3", 2), ("zerotune ZeRO-3 (no communication)", 1)], rows
for r in rows:
    name = f"tiny-B2xT64-fp32-z3-w{r['world']}"
    # Read the run's own records here, independently of the benchmark's parser.
    steps = [x for x in map(json.loads, open(f"{sys.argv[2]}/{name}/metrics.jsonl"))
             if x.get("type") == "step"]
    assert len(steps) == 3 and r["steps_measured"] == 2, (len(steps), r)
    assert min(x["step_ms"] for x in steps[1:]) <= r["ms"] <= max(x["step_ms"] for x in steps[1:]), r
    assert abs(r["tokens_per_s_per_gpu"] - 2 * 64 / (r["ms"] / 1e3)) < 1e-6 * r["tokens_per_s_per_gpu"]
    memory = [line for line in open(f"{sys.argv[2]}/{name}.out") if line.startswith("memory rank=")]
    assert len(memory) == r["world"] and sorted(map(int, r["model_state_mib"])) == list(range(r["world"])), r
    for line in memory:
        fields = dict(w.split("=", 1) for w in line.split() if "=" in w)
        mib = {k: float(v) for k, v in fields.items() if k.endswith("_mib")}
        total = mib.get("model_state_mib", mib.get("total_mib", sum(mib.values())))
        assert abs(r["model_state_mib"][fields["rank"]] - total) < 1e-9, (fields, r)
print("benchmark rows match their runs")
PY
pass "multi_gpu_bench.py runs on CPU ranks and reports what its runs measured"
