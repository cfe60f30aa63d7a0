// `zerotune estimate --config FILE [--deepspeed F] [--set section.key=value]... [--world N]
//                    [--ntasks-per-node N] [--gpu-memory GIB]`: memory per rank, on the device
// and on the host, for each ZeRO stage and offload choice before a job is queued
// (train/memory_plan.hpp).
#pragma once

#include <string>
#include <vector>

#include "zerotune/config/run_config.hpp"
#include "zerotune/train/memory_plan.hpp"

namespace zerotune::cli {

int run_estimate_command(const std::vector<std::string>& args);

// The plan's input for a resolved config on `world` ranks (device memory unknown).
train::MemoryPlanInput memory_plan_input(const config::RunConfig& config, int world);

// The estimate line of the config's own stage and offload choice (what `zerotune train`
// logs at start), its host verdict against host_bytes_per_rank (0: unknown).
std::string own_estimate_line(const config::RunConfig& config, int world,
                              int64_t host_bytes_per_rank = 0);

// Host memory per rank for `ranks_on_node` ranks sharing this node (runtime::node_host_memory
// of this process's environment over them); 0 when unknown.
int64_t host_memory_per_rank(int ranks_on_node);

// "" when the config's model states (parameters, gradients, optimizer state on the device) fit
// in device_bytes; else the one line `zerotune train` refuses to start with: the estimate, the
// device's memory and the cheapest change that fits (a higher stage, offload to host memory or
// NVMe, activation checkpointing, or more ranks). A change whose host bytes exceed
// host_bytes_per_rank (0: unknown, no limit) is not proposed.
std::string model_states_refusal(const config::RunConfig& config, int world, int64_t device_bytes,
                                 int64_t host_bytes_per_rank = 0);

}  // namespace zerotune::cli
