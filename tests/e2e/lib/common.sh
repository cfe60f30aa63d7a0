# Shared by the end-to-end tests: strict mode, a scratch dir, the binary, small checks.
set -euo pipefail
ZT="${ZEROTUNE_BINARY:?ZEROTUNE_BINARY must name the zerotune executable}"
SRC="${ZEROTUNE_SOURCE_DIR:?}"
SCRATCH="$(mktemp -d "${TMPDIR:-/tmp}/zt-e2e.XXXXXX")"
trap 'rm -rf "$SCRATCH"' EXIT
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1

fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "PASS: $*"; }

# Per-step losses of a run directory, the last value per step (a resumed run repeats none,
# but a requeued one may), as "step loss" lines with full precision.
step_losses() {
  python3 - "$1/metrics.jsonl" <<'PY'
import json, sys
losses = {}
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get("type") == "step":
        losses[r["step"]] = r["loss"]
for s in sorted(losses):
    print(s, repr(losses[s]))
PY
}
