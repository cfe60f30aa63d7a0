#include "zerotune/train/nvme_path_check.hpp"

#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "zerotune/base/dtype.hpp"
#include "zerotune/model/gpt2_layout.hpp"
#include "zerotune/train/optimizer.hpp"
#include "zerotune/train/optimizer_state_store.hpp"
#include "zerotune/train/shard_layout.hpp"
#include "zerotune/train/swap_file.hpp"

namespace zerotune::train {

int64_t nvme_aligned_bytes(const std::vector<int64_t>& region_bytes) {
  int64_t total = 0;
  for (int64_t n : region_bytes) total += SwapFile::aligned(n);
  return total;
}

int64_t nvme_state_bytes(const std::vector<int64_t>& unit_counts, int arrays) {
  int64_t total = 0;
  for (int64_t n : unit_counts) total += nvme_unit_bytes(n, arrays);
  return total;
}

int64_t nvme_bytes_of_rank(const config::RunConfig& c, int world, int rank) {
  const bool state = c.zero.offload_optimizer == "nvme", params = c.zero.offload_param == "nvme";
  if (!state && !params) return 0;
  const model::Gpt2Layout layout = model::make_gpt2_layout(
      {c.model.n_layer, c.model.n_head, c.model.n_embd, c.model.seq_len, c.model.vocab_size});
  const auto element =
      static_cast<int64_t>(dtype_bytes(dtype_from_name(c.train.precision.c_str())));
  std::vector<int64_t> counts, shard_bytes;
  for (const UnitShard& s : make_shards(layout, world, rank)) {
    counts.push_back(s.owned());
    shard_bytes.push_back(element * s.shard_numel);
  }
  int64_t bytes = 0;
  if (state) {
    bytes += nvme_state_bytes(counts,
                              1 + optimizer_state_count(parse_optimizer_kind(c.train.optimizer)));
  }
  if (params) bytes += nvme_aligned_bytes(shard_bytes);
  return bytes;
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
