// Stage 3's parameter shards in host memory (zero.offload_param: cpu): one host buffer per
// unit, and one device staging buffer per gather buffer that a shard is copied into, on the
// copy stream, just before its all-gather. A staging buffer is reused only with its gather
// buffer, that is after the previous all-gather from it was waited for.
#pragma once

#include <algorithm>
#include <cstddef>
#include <vector>

#include "zerotune/runtime/device.hpp"

namespace zerotune::train {

struct HostShards {
  HostShards() = default;
  // Moves `device_shards` (compute dtype, one per unit) to host memory.
  HostShards(runtime::Device& device, std::vector<runtime::DeviceBuffer<std::byte>>& device_shards,
             int gather_buffers, bool pinned)
      : device_(&device) {
    int64_t largest = 0;
    for (auto& d : device_shards) {
      shards.emplace_back(device, d.size(), pinned);
      device.copy(shards.back().data(), d.data(), d.bytes());
      largest = std::max(largest, d.size());
    }
    for (int b = 0; b < gather_buffers; ++b) {
      staging.emplace_back(device, largest, "parameter shard staging");
    }
  }

  // The unit's shard on the device, in staging buffer `b`, ordered before the compute
  // stream's next work (the all-gather that reads it).
  const void* to_device(int unit, int b) {
    device_->copy_async(staging[b].data(), shards[unit].data(), shards[unit].bytes());
    device_->compute_waits_for_copies();
    return staging[b].data();
  }

  std::vector<runtime::HostBuffer<std::byte>> shards;
  std::vector<runtime::DeviceBuffer<std::byte>> staging;

 private:
  runtime::Device* device_ = nullptr;
};

}  // namespace zerotune::train
