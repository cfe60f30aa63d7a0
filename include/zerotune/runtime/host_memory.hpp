// Host memory a job's ranks may use on one node, read before anything is allocated (what
// `zerotune estimate` and the start of `zerotune train` hold the offload tiers' host buffers
// against): the job's SLURM allocation when it has one, else what the kernel reports as
// available now.
#pragma once

#include <cstdint>
#include <string>

#include "zerotune/runtime/topology.hpp"

namespace zerotune::runtime {

struct NodeHostMemory {
  int64_t bytes = 0;   // 0: unknown
  std::string source;  // the variable or field it came from; "unknown" when none
};

// SLURM_MEM_PER_NODE (MiB; 0 is sbatch's --mem=0, the whole node: read on) when set, else
// SLURM_MEM_PER_CPU (MiB) x SLURM_CPUS_ON_NODE when both are set, else MemAvailable (kB) of
// `meminfo` (/proc/meminfo's format). Throws InputError naming the variable when a SLURM value
// is not a whole number.
NodeHostMemory node_host_memory(const EnvMap& env, const std::string& meminfo = "/proc/meminfo");

// The job's tasks on one node: SLURM_NTASKS_PER_NODE, else the first count of
// SLURM_TASKS_PER_NODE ("4(x2),2" is 4), else `fallback`. Throws InputError naming the variable
// when it is not a positive count.
int slurm_tasks_per_node(const EnvMap& env, int fallback);

}  // namespace zerotune::runtime
