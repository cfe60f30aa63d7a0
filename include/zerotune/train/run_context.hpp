// Everything a run needs, built once in main and passed down: no other globals.
#pragma once

#include <memory>
#include <string>

#include "zerotune/comm/communicator.hpp"
#include "zerotune/config/run_config.hpp"
#include "zerotune/runtime/device.hpp"
#include "zerotune/runtime/job_dir.hpp"
#include "zerotune/runtime/memory_monitor.hpp"
#include "zerotune/runtime/topology.hpp"

namespace zerotune::train {

struct RunContext {
  config::RunConfig config;
  runtime::Topology topology;
  comm::Communicator* comm = nullptr;
  runtime::Device* device = nullptr;
  runtime::JobDir job_dir{""};
  runtime::MemoryMonitor* monitor = nullptr;
  std::string resume;  // "" (fresh), "auto" (latest in the job dir if any) or a checkpoint dir
};

}  // namespace zerotune::train
