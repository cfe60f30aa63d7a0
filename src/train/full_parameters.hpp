// Full, padded parameter buffers per unit for stages 1 and 2: every rank computes with all
// parameters, updates only its shard, then the shards are all-gathered in place.
#pragma once

#include <vector>

#include "zerotune/comm/communicator.hpp"
#include "zerotune/runtime/device.hpp"
#include "zerotune/train/shard_layout.hpp"
#include "zerotune/train/zero_engine.hpp"

namespace zerotune::train {

class FullParameters {
 public:
  FullParameters(const std::vector<UnitShard>& shards, comm::Communicator& comm,
                 runtime::Device& device)
      : shards_(shards), comm_(comm) {
    for (const auto& s : shards_) buffers_.emplace_back(device, s.padded_numel);
  }
  float* full(int unit) { return buffers_[unit].data(); }
  float* shard(int unit) { return buffers_[unit].data() + shards_[unit].begin; }
  StateRange held(int unit) { return {0, shards_[unit].numel, buffers_[unit].data()}; }
  int64_t bytes() const {
    int64_t b = 0;
    for (const auto& buf : buffers_) b += buf.bytes();
    return b;
  }
  void all_gather_shards() {
    std::vector<comm::RequestPtr> pending;
    for (size_t u = 0; u < buffers_.size(); ++u) {
      const int64_t n = shards_[u].shard_numel;
      float* base = buffers_[u].data();
      pending.push_back(
          comm_.all_gather(base + comm_.rank() * n, base, n, comm::DataType::kFloat32));
    }
    comm::wait_all(pending);
  }

 private:
  const std::vector<UnitShard>& shards_;
  comm::Communicator& comm_;
  std::vector<runtime::DeviceBuffer<float>> buffers_;
};

}  // namespace zerotune::train
