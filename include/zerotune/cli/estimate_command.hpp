// `zerotune estimate --config FILE [--deepspeed F] [--set section.key=value]... [--world N]
//                    [--gpu-memory GIB]`: memory per rank for each ZeRO stage and offload
// choice before a job is queued (train/memory_plan.hpp).
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
// logs at start).
std::string own_estimate_line(const config::RunConfig& config, int world);

}  // namespace zerotune::cli
