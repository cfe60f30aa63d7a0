#include "zerotune/runtime/job_dir.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <vector>

#include "zerotune/base/error.hpp"

namespace zerotune::runtime {

namespace fs = std::filesystem;

namespace {

std::string rank_file(const char* stem, int rank, const char* ext) {
  char name[64];
  std::snprintf(name, sizeof(name), "%s-%05d.%s", stem, rank, ext);
  return name;
}

// Newest "<root>/<stem>-*" holding anything of a checkpoint (checkpoints/latest or a step-*
// directory: `latest` may be missing or damaged, and the trainer does not trust it), or "".
std::string newest_resumable(const fs::path& root, const std::string& name) {
  std::error_code ec;
  if (!fs::is_directory(root, ec)) return "";
  fs::path best;
  fs::file_time_type best_time{};
  for (const auto& entry : fs::directory_iterator(root, ec)) {
    const std::string dir = entry.path().filename().string();
    if (!entry.is_directory() || dir.rfind(name + "-", 0) != 0) continue;
    const fs::path checkpoints = entry.path() / "checkpoints";
    bool holds = fs::exists(fs::symlink_status(checkpoints / "latest", ec));
    for (const auto& c : fs::directory_iterator(checkpoints, ec)) {
      holds = holds || c.path().filename().string().rfind("step-", 0) == 0;
    }
    if (!holds) continue;
    auto t = fs::last_write_time(checkpoints, ec);
    if (best.empty() || t > best_time) {
      best = entry.path();
      best_time = t;
    }
  }
  return best.string();
}

// Creates `wanted`, or wanted-2, wanted-3, ... if taken, with mkdir's own exclusivity (the
// check and the creation are one step); returns the one created.
std::string create_new_directory(const fs::path& wanted) {
  std::error_code ec;
  if (!wanted.parent_path().empty()) fs::create_directories(wanted.parent_path(), ec);
  for (int n = 1; n < 10000; ++n) {
    const std::string candidate =
        n == 1 ? wanted.string() : wanted.string() + "-" + std::to_string(n);
    if (::mkdir(candidate.c_str(), 0777) == 0) return candidate;
    if (errno != EEXIST) {
      throw InputError("run.root: cannot create job directory " + candidate + ": " +
                       std::strerror(errno));
    }
  }
  throw InputError("run.root: " + wanted.string() + "-*: no free job directory name");
}

}  // namespace

std::string timestamp_now() {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  localtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y%m%d-%H%M%S", &tm);
  return buf;
}

fs::path JobDir::memory_file(int rank) const {
  return root_ / "memory" / rank_file("rank", rank, "csv");
}
fs::path JobDir::log_file(int rank) const {
  return root_ / "logs" / rank_file("rank", rank, "log");
}

std::string run_dir_stem(const std::string& run_name) {
  std::string stem = run_name;
  for (char& c : stem) {
    const bool kept = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '.' || c == '_' || c == '-' || c == '+';
    if (!kept) c = '_';
  }
  if (!stem.empty() && stem[0] == '.') stem[0] = '_';
  return stem;
}

std::string job_dir_name(const std::string& run_name, const Topology& topology) {
  return run_dir_stem(run_name) + "-" +
         (topology.job_id.empty() ? timestamp_now() : topology.job_id);
}

JobDir create_job_dir(const std::string& run_root, const std::string& run_name,
                      const std::string& explicit_dir, bool resume_auto, const Topology& topology) {
  std::string path = explicit_dir;
  if (path.empty() && resume_auto && topology.job_id.empty()) {
    path = newest_resumable(run_root, run_dir_stem(run_name));
  }
  if (path.empty() && topology.job_id.empty()) {
    // A new timestamped directory: two runs started in the same second must not share it.
    path = create_new_directory(fs::path(run_root) / job_dir_name(run_name, topology));
  }
  if (path.empty()) path = (fs::path(run_root) / job_dir_name(run_name, topology)).string();
  for (const char* sub : {"memory", "logs", "checkpoints"}) {
    std::error_code ec;
    fs::create_directories(fs::path(path) / sub, ec);
    if (ec) throw InputError("run.root: cannot create job directory " + path + ": " + ec.message());
  }
  return JobDir(path);
}

void fsync_path(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) throw_library_error("posix", "open(" + path.string() + ")", std::strerror(errno));
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) throw_library_error("posix", "fsync(" + path.string() + ")", std::strerror(err));
}

}  // namespace zerotune::runtime
