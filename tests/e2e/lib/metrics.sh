# step_losses RUN_DIR: "step loss" lines from RUN_DIR/metrics.jsonl with full precision, the
# last record per step (a requeued or resumed run may log a step again).
step_losses() {
  python3 - "$1/metrics.jsonl" <<'PY'
import json, sys
losses = {}
for line in open(sys.argv[1]):
    record = json.loads(line)
    if record.get("type") == "step":
        losses[record["step"]] = record["loss"]
for step in sorted(losses):
    print(step, repr(losses[step]))
PY
}
