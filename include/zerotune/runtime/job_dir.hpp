// The job directory (DESIGN.md "Job directory"):
//   <root>/<name>-<SLURM_JOB_ID or timestamp>/{config.yaml, metrics.jsonl, memory/, logs/,
//   checkpoints/, export/}
// Under SLURM the name is keyed by job name and id, so a requeued job finds its directory
// again.
#pragma once

#include <filesystem>
#include <string>

#include "zerotune/runtime/topology.hpp"

namespace zerotune::runtime {

class JobDir {
 public:
  explicit JobDir(std::filesystem::path root) : root_(std::move(root)) {}
  const std::filesystem::path& root() const { return root_; }
  std::filesystem::path config_file() const { return root_ / "config.yaml"; }
  std::filesystem::path metrics_file() const { return root_ / "metrics.jsonl"; }
  std::filesystem::path memory_file(int rank) const;
  std::filesystem::path log_file(int rank) const;
  std::filesystem::path checkpoints() const { return root_ / "checkpoints"; }
  std::filesystem::path export_dir() const { return root_ / "export"; }

 private:
  std::filesystem::path root_;
};

// The directory name this run would use: "<name>-<job id>" or "<name>-<YYYYmmdd-HHMMSS>".
std::string job_dir_name(const std::string& run_name, const Topology& topology);

// Resolves and creates the job directory; rank 0 calls it and shares the path with the others.
//   explicit_dir: --run-dir, used as is.
//   resume_auto:  without SLURM, reuse the newest <root>/<name>-* that has a checkpoint.
//   otherwise, without SLURM: a new directory, created exclusively (two runs in the same
//   second get <name>-<time> and <name>-<time>-2).
// InputError if it cannot be created.
JobDir create_job_dir(const std::string& run_root, const std::string& run_name,
                      const std::string& explicit_dir, bool resume_auto, const Topology& topology);

// fsync a file or a directory (LibraryError on failure).
void fsync_path(const std::filesystem::path& path);

}  // namespace zerotune::runtime
