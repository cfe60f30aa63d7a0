// A few unit-sized device buffers for stages 2 and 3 (gradient scratch, gathered
// parameters), sized by the units they serve rather than all at the largest: GPT-2's
// embeddings (V x C) dwarf a block, but at most one embeddings-sized buffer is ever in use.
#pragma once

#include <algorithm>
#include <cstddef>
#include <functional>
#include <vector>

#include "zerotune/runtime/device.hpp"
#include "zerotune/train/shard_layout.hpp"

namespace zerotune::train {

class UnitBufferPool {
 public:
  // `count` buffers of elements of `element_bytes`: the first as large as the largest unit,
  // the rest as the second largest.
  UnitBufferPool(runtime::Device& device, const std::vector<UnitShard>& shards, int count,
                 int64_t element_bytes, const char* purpose)
      : element_bytes_(element_bytes) {
    std::vector<int64_t> sizes;
    for (const auto& s : shards) sizes.push_back(s.padded_numel);
    std::sort(sizes.begin(), sizes.end(), std::greater<>());
    for (int i = 0; i < count && !sizes.empty(); ++i) {
      const int64_t n = sizes[std::min<size_t>(i == 0 ? 0 : 1, sizes.size() - 1)];
      buffers_.emplace_back(device, n * element_bytes, purpose);
    }
    free_.assign(buffers_.size(), true);
  }

  // The smallest free buffer of at least `numel` elements, or -1.
  int take(int64_t numel) {
    int best = -1;
    for (int i = 0; i < static_cast<int>(buffers_.size()); ++i) {
      if (free_[i] && buffers_[i].size() >= numel * element_bytes_ &&
          (best < 0 || buffers_[i].size() < buffers_[best].size())) {
        best = i;
      }
    }
    if (best >= 0) free_[best] = false;
    return best;
  }
  void give(int index) { free_[index] = true; }
  int count() const { return static_cast<int>(buffers_.size()); }
  void* data(int index) { return buffers_[index].data(); }
  int64_t bytes() const {
    int64_t b = 0;
    for (const auto& buf : buffers_) b += buf.bytes();
    return b;
  }

 private:
  int64_t element_bytes_;
  std::vector<runtime::DeviceBuffer<std::byte>> buffers_;
  std::vector<bool> free_;
};

}  // namespace zerotune::train
