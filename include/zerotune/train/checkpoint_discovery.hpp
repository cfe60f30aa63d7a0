// Finding, verifying and rotating the checkpoints of a job directory without trusting
// checkpoints/latest: `latest` is a hint written last, and a crash, a full disk or a user's
// edit can leave it empty, stale or naming a directory that is gone. Every decision here is
// taken from the step-NNNNNN directories themselves, ordered by their step number (not by
// name: step-1000000 sorts before step-999999 as text).
//
// A checkpoint is complete when meta.json parses, names format "zerotune-checkpoint" and the
// step of its directory, and its state files exist; it is verified when, in addition, every
// dataset of its state files reads back (HDF5's Fletcher32 checksum of each chunk holds) and
// holds only finite values.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "zerotune/comm/communicator.hpp"

namespace zerotune::train {

// "step-000042"; at least six digits.
std::string checkpoint_dir_name(int64_t step);

// The step of a checkpoint directory name ("step-000042" -> 42), nullopt for any other name
// (".tmp-step-000042", "latest", "step-12a").
std::optional<int64_t> checkpoint_step_of(const std::string& dir_name);

struct CheckpointDir {
  int64_t step = 0;
  std::filesystem::path path;
};

// step-* directories directly under checkpoints_dir, complete or not, by step ascending.
// A missing checkpoints_dir has none.
std::vector<CheckpointDir> list_checkpoint_dirs(const std::filesystem::path& checkpoints_dir);

// True when checkpoints_dir holds any step-* directory or a `latest` entry: a run that did
// not ask to resume must not write there.
bool holds_checkpoints(const std::filesystem::path& checkpoints_dir);

// Why `dir` is not a complete checkpoint (one line, naming the file), or "" if it is.
// Cheap: reads meta.json and looks at the state files, not their data.
std::string checkpoint_incomplete_reason(const std::filesystem::path& dir);

// Reads every dataset of the checkpoint's state files; the datasets are shared out among the
// ranks, and every rank returns the same answer: "" if all read back with valid checksums
// and finite values, else one line naming the file, the dataset and what is wrong.
// Collective.
std::string verify_checkpoint_data(const std::filesystem::path& dir, comm::Communicator& comm);

struct ResumeChoice {
  std::optional<std::filesystem::path> dir;  // the newest complete, verified checkpoint
  std::vector<std::string> notes;            // one line per checkpoint passed over, and why
  bool any_checkpoint = false;               // checkpoints_dir held something of a checkpoint
};

// The checkpoint `--resume auto` continues from: the newest by step number that is complete
// and verified, whatever `latest` says. The same on every rank (rank 0 looks at the
// directory; the data checks are shared). Collective.
ResumeChoice find_resume_checkpoint(const std::filesystem::path& checkpoints_dir,
                                    comm::Communicator& comm);

// Checks the checkpoint a user named with `--resume DIR`: InputError naming the file and
// what is wrong when it is incomplete, corrupt or not finite. Collective.
void check_named_checkpoint(const std::filesystem::path& dir, comm::Communicator& comm);

// A run that continues from step `resumed_step` while checkpoints_dir holds checkpoints of
// later steps (a rewind) would otherwise mix two runs' checkpoints under one directory: the
// later ones are moved, untouched, to checkpoints/superseded-<YYYYmmdd-HHMMSS>/ and the
// returned line says so ("" when there were none). Rank 0 only; LibraryError on failure.
std::string set_aside_later_checkpoints(const std::filesystem::path& checkpoints_dir,
                                        int64_t resumed_step);

// Points checkpoints/latest at `checkpoint_name` atomically. A `latest` that is a directory
// (nothing this program writes) is removed when empty, else renamed to latest.directory-<time>,
// so the pointer can be written without deleting anything a user put there. Rank 0 only.
void write_latest(const std::filesystem::path& checkpoints_dir, const std::string& checkpoint_name);

// Whether a checkpoint's meta.json marks it "keep": true (an epoch checkpoint of
// checkpoint.save_strategy epoch), which rotate_checkpoints never deletes.
bool kept_from_rotation(const std::filesystem::path& dir);

// After saving step `saved_step`: keeps the newest keep_last checkpoints of steps up to
// saved_step (it included) by step number among those not kept_from_rotation, deletes older
// ones of them, and never touches a kept checkpoint, a checkpoint of a later step or anything
// that is not a step-* directory (Hugging Face's save_total_limit, except that it counts and
// deletes epoch checkpoints too: docs/slurm.md). Rank 0 only.
void rotate_checkpoints(const std::filesystem::path& checkpoints_dir, int64_t saved_step,
                        int keep_last);

}  // namespace zerotune::train
