// Runs the real trainer in-process over a given communicator (the world, a sub-group, or this
// rank alone) and reads back what it wrote: per-step losses from metrics.jsonl and the final
// parameters from the last checkpoint's HDF5 file.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "zerotune/comm/communicator.hpp"

namespace zerotune::testing {

struct TrainedRun {
  int exit_code = 0;
  std::filesystem::path dir;
  std::map<int64_t, double> losses;                        // step -> loss (rank 0 only)
  std::map<std::string, std::vector<float>> final_params;  // unit -> params (rank 0 only)
};

// A tiny GPT-2 on the synthetic corpus; `overrides` as --set would take them.
std::string tiny_run_yaml();

// Same path on every rank of the world: <tmp>/zt-mpi-<pid of world rank 0>/<name>.
std::filesystem::path shared_scratch(const std::string& name);

TrainedRun train_in_process(comm::Communicator& comm, const std::vector<std::string>& overrides,
                            const std::filesystem::path& dir, const std::string& resume = "");

// Largest |a - b| / max(1, |b|) over every parameter of every unit.
double max_relative_param_difference(const TrainedRun& a, const TrainedRun& b);

}  // namespace zerotune::testing
