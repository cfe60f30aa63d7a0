# Shared by the end-to-end tests: strict mode, a scratch dir, the binary, small checks.
set -euo pipefail
ZT="${ZEROTUNE_BINARY:?ZEROTUNE_BINARY must name the zerotune executable}"
SRC="${ZEROTUNE_SOURCE_DIR:?}"
SCRATCH="$(mktemp -d "${TMPDIR:-/tmp}/zt-e2e.XXXXXX")"
trap 'rm -rf "$SCRATCH"' EXIT
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1

fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "PASS: $*"; }

source "$(dirname "${BASH_SOURCE[0]}")/metrics.sh"
