#include "zerotune/train/nvme_path_check.hpp"

#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "zerotune/base/dtype.hpp"
#include "zerotune/model/gpt2_layout.hpp"
#include "zerotune/train/memory_estimate.hpp"
#include "zerotune/train/optimizer.hpp"
#include "zerotune/train/swap_file.hpp"
#include "zerotune/train/zero_engine.hpp"

namespace zerotune::train {

int64_t nvme_aligned_bytes(const std::vector<int64_t>& region_bytes) {
  int64_t total = 0;
  for (int64_t n : region_bytes) total += SwapFile::aligned(n);
  return total;
}

int64_t nvme_bytes_of_rank(const config::RunConfig& c, int world, int rank) {
  const OffloadSettings offload = offload_settings(c.zero);
  if (offload.optimizer_tier != StateTier::kNvme && offload.parameter_tier != StateTier::kNvme) {
    return 0;
  }
  // The files' sizes as the engine lays them out (memory_estimate.cpp, checked against the
  // engine's own account in tests/mpi/memory_estimate_test.cpp).
  const MemoryAccount a = estimate_model_states(
      model::make_gpt2_layout(
          {c.model.n_layer, c.model.n_head, c.model.n_embd, c.model.seq_len, c.model.vocab_size}),
      static_cast<int>(c.zero.stage), world, rank, dtype_from_name(c.train.precision.c_str()),
      parse_optimizer_kind(c.train.optimizer), 1, comm_settings(c.zero), offload);
  return a.nvme_optimizer_bytes + a.nvme_parameter_bytes;
}

std::string check_nvme_path(const std::string& path, int64_t bytes_needed) {
  const std::string field = "zero.nvme_path: " + path;
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (!std::filesystem::exists(status)) {
    return field + " does not exist (create it, or point zero.nvme_path at a local NVMe folder)";
  }
  if (!std::filesystem::is_directory(status)) return field + " is not a directory";
  // access() answers for this process's user; a read-only mount says so as EROFS.
  if (::access(path.c_str(), W_OK | X_OK) != 0) {
    return field + " is not writable (" + std::strerror(errno) + ")";
  }
  struct statvfs fs {};
  if (::statvfs(path.c_str(), &fs) != 0) {
    return field + ": statvfs failed (" + std::strerror(errno) + ")";
  }
  if (fs.f_flag & ST_RDONLY) return field + " is not writable (read-only file system)";
  const auto available = static_cast<int64_t>(fs.f_bavail) * static_cast<int64_t>(fs.f_frsize);
  if (available < bytes_needed) {
    return field + " has " + std::to_string(available) + " bytes free; the offloaded state needs " +
           std::to_string(bytes_needed) + " bytes";
  }
  return "";
}

}  // namespace zerotune::train
