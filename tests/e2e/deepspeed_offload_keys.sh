#!/usr/bin/env bash
# DeepSpeed's offload spellings as users have them in their files: the deprecated
# zero_optimization.cpu_offload_param (and its older spelling cpu_offload_params) offloads the
# stage-3 parameters to the CPU as offload_param does; a deprecated key beside the block that
# replaces it, and two different nvme_path folders (zerotune keeps both tiers in one), stop with
# exit 2 and one line naming the key, as DeepSpeed stops on the first; the nvme_path of a block
# whose device is nvme is the folder used, whatever the order of the blocks.
source "$(dirname "$0")/lib/common.sh"
cd "$SCRATCH"

resolved() {  # resolved JSON: the resolved config's zero section
  printf '%s\n' "$1" > ds.json
  "$ZT" config --deepspeed ds.json > config.out 2> config.err ||
    { cat config.err; fail "zerotune config --deepspeed refused $1"; }
}
expect() {  # expect FIELD VALUE
  grep -q "^  $1: $2\$" config.out || { grep -A12 '^zero:' config.out; fail "expected $1: $2"; }
}
refused() {  # refused JSON PATTERN
  printf '%s\n' "$1" > ds.json
  set +e
  "$ZT" config --deepspeed ds.json > refused.out 2> refused.err
  local code=$?
  set -e
  [ "$code" = 2 ] || { cat refused.err; fail "exit $code, expected 2, for $1"; }
  [ "$(wc -l < refused.err)" = 1 ] || fail "expected one line, got: $(cat refused.err)"
  grep -q -- "$2" refused.err || fail "no line matching '$2': $(cat refused.err)"
}

for key in cpu_offload_param cpu_offload_params; do
  resolved "{\"zero_optimization\": {\"stage\": 3, \"cpu_offload\": true, \"$key\": true}}"
  expect offload_optimizer cpu
  expect offload_param cpu
  if grep -q "no effect yet: .*$key" config.out; then fail "$key listed as having no effect"; fi
  resolved "{\"zero_optimization\": {\"stage\": 3, \"cpu_offload\": true, \"$key\": false}}"
  expect offload_param none
  refused "{\"zero_optimization\": {\"stage\": 3, \"$key\": true,
            \"offload_optimizer\": {\"device\": \"cpu\"}, \"offload_param\": {\"device\": \"cpu\"}}}" \
    "ds.json: zero_optimization.$key: and zero_optimization.offload_param are both set"
done
refused '{"zero_optimization": {"stage": 2, "cpu_offload": true,
          "offload_optimizer": {"device": "nvme", "nvme_path": "/local_nvme"}}}' \
  "ds.json: zero_optimization.cpu_offload: and zero_optimization.offload_optimizer are both set"

refused '{"zero_optimization": {"stage": 3,
          "offload_optimizer": {"device": "nvme", "nvme_path": "/nvme0"},
          "offload_param": {"device": "nvme", "nvme_path": "/nvme1"}}}' \
  'ds.json: zero_optimization.offload_param.nvme_path: "/nvme1" differs from zero_optimization.offload_optimizer.nvme_path "/nvme0"'
# DeepSpeed reads a block's nvme_path only where its device is nvme.
resolved '{"zero_optimization": {"stage": 3,
          "offload_optimizer": {"device": "nvme", "nvme_path": "/nvme0"},
          "offload_param": {"device": "cpu", "nvme_path": "/unused"}}}'
expect nvme_path /nvme0
resolved '{"zero_optimization": {"stage": 3,
          "offload_optimizer": {"device": "cpu", "nvme_path": "/unused"},
          "offload_param": {"device": "nvme", "nvme_path": "/nvme1"}}}'
expect nvme_path /nvme1
expect offload_param nvme
pass "DeepSpeed's deprecated offload keys mapped or refused as DeepSpeed does; one nvme folder"
