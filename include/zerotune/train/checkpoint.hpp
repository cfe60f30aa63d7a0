// Checkpoints that do not depend on the world size or the ZeRO stage (DESIGN.md "Job
// directory"). A checkpoint is a directory checkpoints/step-NNNNNN/ with
//   state.h5    /units/<unit>/params, /units/<unit>/<optimizer state> as GLOBAL flat float32
//               arrays in layout order (each rank writes and reads only its own ranges,
//               collectively through parallel HDF5); attributes: progress and model shape
//   meta.json   the same progress in plain text, plus the resolved config
// Where HDF5 is not built with MPI, each rank writes state-rank-NNNNN.h5 holding its slices
// (same dataset shapes, unwritten chunks cost nothing) and a reader picks the slices it needs.
// Written under a temporary name, fsynced, renamed; checkpoints/latest moves last.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "zerotune/comm/communicator.hpp"
#include "zerotune/data/batch_loader.hpp"
#include "zerotune/train/zero_engine.hpp"

namespace zerotune::train {

struct TrainingProgress {
  int64_t step = 0;               // optimizer steps completed
  data::LoaderPosition position;  // data position after `step`
};

// Saves and returns the checkpoint directory. Collective. keep_last >= 1 older ones are kept.
std::filesystem::path save_checkpoint(const std::filesystem::path& checkpoints_dir,
                                      ZeroEngine& engine, const TrainingProgress& progress,
                                      const std::string& config_yaml, int keep_last,
                                      comm::Communicator& comm);

// checkpoints/latest resolved, if it names a complete checkpoint.
std::optional<std::filesystem::path> latest_checkpoint(
    const std::filesystem::path& checkpoints_dir);

// Loads into the engine (any stage, any world size). InputError if the checkpoint does not
// fit the model or optimizer; collective.
TrainingProgress load_checkpoint(const std::filesystem::path& checkpoint_dir, ZeroEngine& engine,
                                 comm::Communicator& comm);

}  // namespace zerotune::train
