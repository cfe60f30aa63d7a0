// Stage 3's parameter shards in host memory (zero.offload_param: cpu): one host buffer per
// unit, copied on the copy stream into the gather's staging buffer just before its all-gather.
#include <algorithm>
#include <cstring>

#include "offloaded_shards.hpp"

namespace zerotune::train {

namespace {

class HostShards : public OffloadedShards {
 public:
  HostShards(runtime::Device& device, std::vector<runtime::DeviceBuffer<std::byte>>& device_shards,
             int gather_buffers, bool pinned)
      : device_(device), pinned_(pinned) {
    int64_t largest = 0;
    for (auto& d : device_shards) {
      shards_.emplace_back(device, d.size(), pinned);
      device.copy(shards_.back().data(), d.data(), d.bytes());
      largest = std::max(largest, d.size());
    }
    device_shards.clear();
    for (int b = 0; b < gather_buffers; ++b) {
      staging_.emplace_back(device, largest, "parameter shard staging");
    }
  }

  const void* to_device(int unit, int b) override {
    device_.copy_async(staging_[b].data(), shards_[unit].data(), shards_[unit].bytes());
    device_.compute_waits_for_copies();
    return staging_[b].data();
  }
  void* host_shard(int unit) override { return shards_[unit].data(); }
  void write(int unit, const void* data, int64_t size_bytes) override {
    std::memcpy(shards_[unit].data(), data, static_cast<size_t>(size_bytes));
  }
  int64_t host_bytes() const override {
    int64_t b = 0;
    for (const auto& s : shards_) b += s.bytes();
    return b;
  }
  int64_t staging_bytes() const override {
    int64_t b = 0;
    for (const auto& s : staging_) b += s.bytes();
    return b;
  }
  std::string describe() const override { return pinned_ ? "pinned host memory" : "host memory"; }

 private:
  runtime::Device& device_;
  bool pinned_;
  std::vector<runtime::HostBuffer<std::byte>> shards_;
  std::vector<runtime::DeviceBuffer<std::byte>> staging_;
};

}  // namespace

std::unique_ptr<OffloadedShards> make_host_shards(
    runtime::Device& device, std::vector<runtime::DeviceBuffer<std::byte>>& device_shards,
    int gather_buffers, bool pinned) {
  return std::make_unique<HostShards>(device, device_shards, gather_buffers, pinned);
}

}  // namespace zerotune::train
