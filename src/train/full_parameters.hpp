// Full, padded compute-dtype parameter buffers per unit for stages 1 and 2: every rank
// computes with all parameters, updates only its shard, then the shards are all-gathered in
// place (in the compute dtype: bf16 moves half the bytes of fp32).
#pragma once

#include <cstddef>
#include <vector>

#include "zerotune/comm/communicator.hpp"
#include "zerotune/runtime/device.hpp"
#include "zerotune/train/shard_layout.hpp"

namespace zerotune::train {

class FullParameters {
 public:
  FullParameters(const std::vector<UnitShard>& shards, comm::Communicator& comm,
                 runtime::Device& device, comm::DataType type)
      : shards_(shards), comm_(comm), type_(type), element_bytes_(comm::element_bytes(type)) {
    for (const auto& s : shards_) {
      buffers_.emplace_back(device, s.padded_numel * element_bytes_, "parameters");
    }
  }
  void* full(int unit) { return buffers_[unit].data(); }
  // This rank's shard: where the optimizer writes the updated values.
  void* shard(int unit) { return buffers_[unit].data() + shards_[unit].begin * element_bytes_; }
  int64_t bytes() const {
    int64_t b = 0;
    for (const auto& buf : buffers_) b += buf.bytes();
    return b;
  }
  void all_gather_shards() {
    std::vector<comm::RequestPtr> pending;
    for (size_t u = 0; u < buffers_.size(); ++u) {
      const int64_t n = shards_[u].shard_numel;
      std::byte* base = buffers_[u].data();
      pending.push_back(comm_.all_gather(base + comm_.rank() * n * element_bytes_, base, n, type_));
    }
    comm::wait_all(pending);
  }

 private:
  const std::vector<UnitShard>& shards_;
  comm::Communicator& comm_;
  comm::DataType type_;
  int64_t element_bytes_;
  std::vector<runtime::DeviceBuffer<std::byte>> buffers_;
};

}  // namespace zerotune::train
