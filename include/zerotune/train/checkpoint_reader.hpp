// The parameters of a checkpoint (checkpoint.hpp for the format), read by one process
// without MPI: the global flat arrays /units/<unit>/params of state.h5, or pieced together
// from the per-rank files state-rank-NNNNN.h5 of a checkpoint saved without parallel HDF5.
// Works for a checkpoint of any world size and ZeRO stage, since the arrays on disk do not
// depend on either. Used by `zerotune export` and by the export at the end of training.
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

#include "zerotune/model/gpt2_layout.hpp"

namespace zerotune::train {

struct CheckpointWeights {
  std::filesystem::path dir;  // the step-NNNNNN directory read
  model::Gpt2Shape shape;     // from the state file's attributes
  int64_t step = 0;
  int world_size = 1;  // of the run that saved it
  int zero_stage = 0;
  // units[u]: layout.units[u].numel fp32 values, in layout order (gpt2_layout.hpp).
  std::vector<std::vector<float>> units;
};

// `dir` is a checkpoint directory (holding meta.json), or a directory whose `latest` file
// names one (RUN_DIR/checkpoints), or a run directory (RUN_DIR/checkpoints/latest).
// InputError naming the file and what is wrong when it is not a complete checkpoint.
std::filesystem::path resolve_checkpoint_dir(const std::filesystem::path& dir);

// Reads the parameters (not the optimizer state). InputError for a missing or inconsistent
// file or dataset.
CheckpointWeights read_checkpoint_weights(const std::filesystem::path& dir);

}  // namespace zerotune::train
