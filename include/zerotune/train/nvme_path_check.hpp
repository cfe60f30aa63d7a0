// Checks zero.nvme_path before the first step: the NVMe tier must be able to create its file
// there and fill it, or the run would fail mid-step with the optimizer state half written.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "zerotune/config/run_config.hpp"

namespace zerotune::train {

// "" when `path` is an existing, writable directory with at least `bytes_needed` bytes
// free; else one line for the user, starting "zero.nvme_path: " and naming the path, what is
// wrong and, for space, the bytes needed and available.
std::string check_nvme_path(const std::string& path, int64_t bytes_needed);

// The bytes of a file of regions of region_bytes[u] each, every one rounded up to the
// O_DIRECT alignment (stage 3's parameter shards on nvme).
int64_t nvme_aligned_bytes(const std::vector<int64_t>& region_bytes);

// The bytes rank `rank` of `world` writes under zero.nvme_path for config `c`: the optimizer
// state's file (offload_optimizer: nvme) and stage 3's parameter shards' (offload_param: nvme);
// 0 when neither is on nvme.
int64_t nvme_bytes_of_rank(const config::RunConfig& c, int world, int rank);

}  // namespace zerotune::train
