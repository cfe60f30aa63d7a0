#include "zerotune/train/resume.hpp"

#include "zerotune/base/error.hpp"
#include "zerotune/runtime/logging.hpp"
#include "zerotune/train/checkpoint_discovery.hpp"

namespace zerotune::train {

namespace fs = std::filesystem;

std::optional<fs::path> resolve_resume_checkpoint(const std::string& resume,
                                                  const fs::path& checkpoints_dir,
                                                  comm::Communicator& comm) {
  if (resume.empty()) return std::nullopt;
  if (resume != "auto") {
    check_named_checkpoint(resume, comm);
    return fs::path(resume);
  }
  const ResumeChoice choice = find_resume_checkpoint(checkpoints_dir, comm);
  for (const auto& note : choice.notes) runtime::log().info("resume auto: {}", note);
  if (choice.dir) {
    runtime::log().info(
        "resume auto: continuing from {} (the newest complete checkpoint, by "
        "step number, whose data verified)",
        choice.dir->string());
    return choice.dir;
  }
  if (choice.any_checkpoint) {
    std::string why;
    for (const auto& note : choice.notes) why += (why.empty() ? "" : "; ") + note;
    throw UniformInputError(checkpoints_dir.string() +
                            ": holds checkpoints but none is complete and verified (" + why +
                            "); refusing to start over in it: repair or move them away, "
                            "--resume a checkpoint directory, or choose another --run-dir");
  }
  runtime::log().info("resume auto: no checkpoint in {}, starting fresh", checkpoints_dir.string());
  return std::nullopt;
}

void set_aside_checkpoints_after(const fs::path& checkpoints_dir, int64_t resumed_step,
                                 comm::Communicator& comm) {
  std::string note, error;
  if (comm.rank() == 0) {
    try {
      note = set_aside_later_checkpoints(checkpoints_dir, resumed_step);
    } catch (const std::exception& e) {
      error = e.what();
    }
  }
  error = comm::broadcast_string(comm, error);
  if (!error.empty()) throw LibraryError(error);
  if (!note.empty()) runtime::log().info("{}", note);
}

}  // namespace zerotune::train
