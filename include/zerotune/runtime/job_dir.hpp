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

// Local time as YYYYMMDD-HHMMSS: the stamp in run and set-aside directory names.
std::string timestamp_now();

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

// run.name as the start of a directory name: every byte other than ASCII letters, digits,
// '.', '_', '-' and '+' becomes '_', and so does a leading '.', so that any job name
// (`exp #2`, `[ablation]`, `a/b`, `..`) names one visible directory: "exp__2", "_ablation_",
// "a_b", "__". One byte in, one byte out: distinct names of one length may meet ("a b" and
// "a_b").
std::string run_dir_stem(const std::string& run_name);

// The directory name this run would use: "<stem>-<job id>" or "<stem>-<YYYYmmdd-HHMMSS>",
// stem = run_dir_stem(run_name).
std::string job_dir_name(const std::string& run_name, const Topology& topology);

// Resolves and creates the job directory; rank 0 calls it and shares the path with the others.
//   explicit_dir: --run-dir, used as is.
//   resume_auto:  without SLURM, reuse the newest <root>/<stem>-* that has a checkpoint.
//   otherwise, without SLURM: a new directory, created exclusively (two runs in the same
//   second get <stem>-<time> and <stem>-<time>-2).
// InputError if it cannot be created.
JobDir create_job_dir(const std::string& run_root, const std::string& run_name,
                      const std::string& explicit_dir, bool resume_auto, const Topology& topology);

// fsync a file or a directory (LibraryError on failure).
void fsync_path(const std::filesystem::path& path);

}  // namespace zerotune::runtime
