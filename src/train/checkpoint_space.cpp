#include "zerotune/train/checkpoint_space.hpp"

#include <sys/statvfs.h>
#include <unistd.h>

#include <cstdio>

namespace zerotune::train {

namespace {

std::string mib(double bytes) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.1f MiB", bytes / (1024.0 * 1024.0));
  return text;
}

}  // namespace

int64_t checkpoint_bytes(const ZeroEngine& engine) {
  int64_t elements = 0;
  for (const auto& shard : engine.shards()) elements += shard.numel;
  const int64_t data = elements * static_cast<int64_t>(sizeof(float)) *
                       (1 + static_cast<int64_t>(engine.optimizer_state_count()));
  return data + data / 10 + (int64_t{256} << 10);
}

std::string free_space_shortfall(const std::filesystem::path& dir, int64_t needed_bytes,
                                 const std::string& checkpoint_name) {
  struct statvfs fs {};
  if (::statvfs(dir.c_str(), &fs) != 0) return "";
  const double available = static_cast<double>(fs.f_bavail) * static_cast<double>(fs.f_frsize);
  if (available >= static_cast<double>(needed_bytes)) return "";
  return "checkpoint " + checkpoint_name + ": " + dir.parent_path().string() +
         ": not enough free space: needs " + mib(static_cast<double>(needed_bytes)) + ", " +
         mib(available) + " available (No space left on device)";
}

std::string describe_write_failure(const std::filesystem::path& path, const std::string& message) {
  // The call is what precedes " failed" in a LibraryError ("HDF5: H5Dwrite failed at ...").
  std::string call;
  const auto failed_at = message.find(" failed at ");
  if (failed_at != std::string::npos) call = message.substr(0, failed_at);
  const std::string marker = "error message = '";
  const auto m = message.find(marker);
  if (m != std::string::npos) {
    const auto begin = m + marker.size();
    const auto end = message.find('\'', begin);
    const std::string os_error =
        message.substr(begin, end == std::string::npos ? end : end - begin);
    return path.string() + ": " + (call.empty() ? "" : call + ": ") + os_error;
  }
  std::string flat = message;
  for (char& c : flat)
    if (c == '\n' || c == '\r') c = ' ';
  return path.string() + ": " + flat;
}

void give_back_space(const std::filesystem::path& path) { (void)::truncate(path.c_str(), 0); }

}  // namespace zerotune::train
