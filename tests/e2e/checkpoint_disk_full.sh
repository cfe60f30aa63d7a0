#!/usr/bin/env bash
# A full disk during a checkpoint ends every rank with exit 3 and one line naming the file and
# the OS error; the previous checkpoint and `latest` stay intact and nothing half-written
# stays behind. The checkpoints directory is a small tmpfs (needs root, as CI runs).
source "$(dirname "$0")/lib/common.sh"
cfg="$SRC/tests/data/configs/tiny.yaml"
[ "$(id -u)" = 0 ] || { echo "SKIP: mounting a tmpfs needs root"; exit 77; }
mounts=()
trap 'for m in "${mounts[@]}"; do umount "$m" 2>/dev/null; done; rm -rf "$SCRATCH"' EXIT

# $1 name, $2 tmpfs options, $3 ranks, $4 expected text of the error line.
full_disk_case() {
  local name=$1 opts=$2 np=$3 expect=$4 d="$SCRATCH/$1" rc
  mkdir -p "$d/checkpoints"
  mount -t tmpfs -o "$opts" tmpfs "$d/checkpoints" || { echo "SKIP: cannot mount a tmpfs"; exit 77; }
  mounts+=("$d/checkpoints")
  set +e
  timeout -s KILL 120 mpiexec -n "$np" "$ZT" train --config "$cfg" --set train.max_steps=16 \
    --set checkpoint.every_n_steps=4 --set checkpoint.keep_last=5 --set zero.stage=2 \
    --run-dir "$d" > "$d.out" 2> "$d.err"
  rc=$?
  set -e
  [ "$rc" = 3 ] || { cat "$d.err"; fail "$name: exited $rc, expected 3 (137: it hung)"; }
  [ "$(grep -c '^zerotune: error:' "$d.err")" = 1 ] || { cat "$d.err"; fail "$name: not one error line"; }
  grep -q "^zerotune: error: .*$expect" "$d.err" || { cat "$d.err"; fail "$name: error line lacks '$expect'"; }
  grep -q "Segmentation\|signal" "$d.err" && fail "$name: crashed"
  [ "$(cat "$d/checkpoints/latest")" = step-000004 ] || fail "$name: latest changed"
  [ -f "$d/checkpoints/step-000004/meta.json" ] || fail "$name: the previous checkpoint is gone"
  ls -d "$d"/checkpoints/.tmp-* > /dev/null 2>&1 && fail "$name: a half-written checkpoint stays"
  pass "$name"
}

# Room for one checkpoint of the tiny model (~0.45 MiB), not two: refused before writing.
full_disk_case space_check "size=900k" 1 "checkpoints: not enough free space: needs [0-9.]* MiB, [0-9.]* MiB available"
# Out of inodes when HDF5 creates the state file (the free-space check cannot see that).
full_disk_case hdf5_create_1rank "size=20m,nr_inodes=6" 1 "state.h5: HDF5: H5Fcreate: No space left on device"
full_disk_case hdf5_create_2ranks "size=20m,nr_inodes=7" 2 "state-rank-0000[01].h5: HDF5: H5Fcreate: No space left on device"
full_disk_case hdf5_one_rank_of_2 "size=20m,nr_inodes=8" 2 "state-rank-0000[01].h5: HDF5: H5Fcreate: No space left on device"
full_disk_case meta_json "size=20m,nr_inodes=7" 1 "meta.json.tmp.*No space left on device"
pass "a full disk during a checkpoint ends the run cleanly"
