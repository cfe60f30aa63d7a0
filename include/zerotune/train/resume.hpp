// What `--resume` means for a run, decided the same way on every rank:
//   ""      a fresh run: it never writes into a directory that holds checkpoints (the CLI
//           refuses such a directory before the run starts);
//   "auto"  the newest complete, verified checkpoint of the run's checkpoints/, whatever
//           `latest` says; a fresh start only where there is nothing of a checkpoint, and a
//           refusal (exit 2) where there are checkpoints but none is usable;
//   DIR     that checkpoint, verified first.
// A run that continues from a step older than checkpoints of its directory (a rewind) moves
// those later checkpoints aside, so the directory holds one run's checkpoints.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "zerotune/comm/communicator.hpp"

namespace zerotune::train {

// The checkpoint to load, or nullopt for a fresh start. Logs the choice and every
// checkpoint passed over with the reason. UniformInputError (exit 2) as described above.
// Collective.
std::optional<std::filesystem::path> resolve_resume_checkpoint(
    const std::string& resume, const std::filesystem::path& checkpoints_dir,
    comm::Communicator& comm);

// After loading the checkpoint of `resumed_step`: sets checkpoints of later steps aside
// (rank 0) and logs it. LibraryError on every rank if that fails. Collective.
void set_aside_checkpoints_after(const std::filesystem::path& checkpoints_dir, int64_t resumed_step,
                                 comm::Communicator& comm);

}  // namespace zerotune::train
