// Which device a rank trains on (run.device) and the memory probe that watches it.
//   cpu:  the host.
//   cuda: GPU (local_rank mod visible GPUs): one process per GPU; CUDA_VISIBLE_DEVICES,
//         SLURM's --gpus-per-task and --gpu-bind restrict what is visible, and the node-local
//         rank picks among it (a single visible GPU serves each rank that sees only it).
//   auto: cuda when this build has CUDA and a GPU is visible, else cpu.
#pragma once

#include <memory>
#include <string>

#include "zerotune/runtime/device.hpp"
#include "zerotune/runtime/memory_monitor.hpp"

namespace zerotune::runtime {

struct SelectedDevice {
  std::unique_ptr<Device> owned;  // the CUDA device; null for the host
  Device* device = nullptr;
  std::unique_ptr<MemoryProbe> probe;
  std::string description;  // for the start of the .out: model, memory, driver and runtime
  int cuda_ordinal = -1;    // -1 on the host
};

// True when run.device resolves to CUDA on this machine (no device is touched beyond a count).
bool resolves_to_cuda(const std::string& run_device);

// Throws InputError naming `origin` (where run.device was set: the config file or
// "--set run.device") when cuda is asked for and there is none.
SelectedDevice select_device(const std::string& run_device, int local_rank,
                             const std::string& origin);

}  // namespace zerotune::runtime
