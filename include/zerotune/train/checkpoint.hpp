// Checkpoints that do not depend on the world size or the ZeRO stage (DESIGN.md "Job
// directory"). A checkpoint is a directory checkpoints/step-NNNNNN/ with
//   state.h5    /units/<unit>/params, /units/<unit>/<optimizer state> as GLOBAL flat float32
//               arrays in layout order; attributes: progress and model shape
//   meta.json   the same progress in plain text, plus the resolved config, the reason of the
//               save, whether rotation keeps it ("keep") and the run's run_state
// At more than one rank each rank writes state-rank-NNNNN.h5 holding its slices (same
// dataset shapes, unwritten chunks cost nothing) and a reader picks the slices it needs:
// independent files fail independently, where one shared file written through MPI-IO left
// the other ranks inside HDF5 forever when one rank's write failed. Every chunk carries a
// Fletcher32 checksum, verified on each read (checkpoint_discovery.hpp reads them all before
// a resume). Written under a temporary name after a free-space check, fsynced, renamed;
// checkpoints/latest moves last and is only a hint (see checkpoint_discovery.hpp).
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "zerotune/comm/communicator.hpp"
#include "zerotune/data/batch_loader.hpp"
#include "zerotune/train/zero_engine.hpp"

namespace zerotune::train {

// fp16's dynamic loss scaler as it stood after `step` (scale 0: none, not an fp16 run).
struct LossScaleState {
  double scale = 0;
  int64_t hysteresis_left = 0;
  int64_t iteration = 0;
  int64_t last_overflow_iteration = -1;
};

struct TrainingProgress {
  int64_t step = 0;               // optimizer steps completed
  data::LoaderPosition position;  // data position after `step`
  LossScaleState loss_scale;      // restored only by fp16 runs; absent in older checkpoints
};

// What meta.json records beside the model state: why the checkpoint was saved, whether the
// keep_last rotation must leave it, and run figures a resume continues from.
struct CheckpointNotes {
  std::string reason = "end";  // interval | epoch | end | preempted
  // An epoch-end checkpoint of checkpoint.save_strategy epoch: never rotated away by
  // keep_last, and not counted among its keep_last (rotate_checkpoints).
  bool keep = false;
  nlohmann::json run_state = nlohmann::json::object();  // e.g. the retention check's "before"
};

// Saves and returns the checkpoint directory. Collective. The newest keep_last >= 1
// checkpoints that are not kept (notes.keep) survive the rotation, kept ones all do.
std::filesystem::path save_checkpoint(const std::filesystem::path& checkpoints_dir,
                                      ZeroEngine& engine, const TrainingProgress& progress,
                                      const std::string& config_yaml, int keep_last,
                                      comm::Communicator& comm, const CheckpointNotes& notes = {});

// The run_state object of a checkpoint's meta.json; an empty object when it has none (older
// checkpoints) or the file cannot be read (load_checkpoint reports that).
nlohmann::json read_checkpoint_run_state(const std::filesystem::path& checkpoint_dir);

// checkpoints/latest resolved, if it names a complete checkpoint.
std::optional<std::filesystem::path> latest_checkpoint(
    const std::filesystem::path& checkpoints_dir);

// Loads into the engine (any stage, any world size). InputError if the checkpoint does not
// fit the model or optimizer; collective.
// What load_checkpoint needs from meta.json, checked field by field: a hand-edited, truncated
// or foreign file is an InputError naming meta.json and the field, never a JSON library
// exception.
struct CheckpointMeta {
  std::string optimizer;
  int world_size = 1;
  bool shared = true;  // layout "shared" (one state.h5) or "per_rank"
};
CheckpointMeta read_checkpoint_meta(const std::filesystem::path& meta_json);

TrainingProgress load_checkpoint(const std::filesystem::path& checkpoint_dir, ZeroEngine& engine,
                                 comm::Communicator& comm);

}  // namespace zerotune::train
