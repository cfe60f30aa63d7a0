// A checkpoint as a Hugging Face model directory (model/hf_directory.hpp): what
// `zerotune export` and `checkpoint.export_hf: true` at the end of training write.
// One process, no MPI: the checkpoint's global arrays are read directly
// (checkpoint_reader.hpp), so any world size and ZeRO stage exports the same files.
#pragma once

#include <filesystem>

#include "zerotune/comm/communicator.hpp"
#include "zerotune/model/hf_directory.hpp"
#include "zerotune/train/checkpoint_reader.hpp"

namespace zerotune::train {

// Writes the directory under a temporary sibling name and renames it to `out`, so `out` is
// complete or absent. An existing `out` is replaced only when it is empty or an earlier
// export (it holds config.json); anything else is an InputError that leaves it untouched.
// Returns what was read from the checkpoint.
CheckpointWeights export_checkpoint(const std::filesystem::path& checkpoint,
                                    const std::filesystem::path& out,
                                    const model::HfExportOptions& options);

// `checkpoint.export_hf`: rank 0 exports the newest checkpoint of `checkpoints_dir` (fp32) to
// `out` and logs it; every rank returns when it is written, or throws if it failed. Collective.
void export_latest_checkpoint(const std::filesystem::path& checkpoints_dir,
                              const std::filesystem::path& out, comm::Communicator& comm);

}  // namespace zerotune::train
