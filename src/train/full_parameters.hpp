// Full, padded compute-dtype parameter buffers per unit for stages 1 and 2: every rank
// computes with all parameters, updates only its shard, then the shards are all-gathered in
// place (in the compute dtype: bf16 moves half the bytes of fp32). Each unit's gather starts
// as soon as its update is done and is waited for only when the next forward uses the unit,
// so the gathers overlap the rest of the optimizer step and the forward of earlier units.
#pragma once

#include <cstddef>
#include <vector>

#include "zerotune/comm/communicator.hpp"
#include "zerotune/runtime/device.hpp"
#include "zerotune/train/shard_layout.hpp"

namespace zerotune::train {

class FullParameters {
 public:
  // overlap_comm false: each gather is waited for as it is issued.
  FullParameters(const std::vector<UnitShard>& shards, comm::Communicator& comm,
                 runtime::Device& device, comm::DataType type, bool overlap_comm)
      : shards_(shards),
        comm_(comm),
        type_(type),
        element_bytes_(comm::element_bytes(type)),
        overlap_comm_(overlap_comm),
        pending_(shards.size()) {
    for (const auto& s : shards_) {
      buffers_.emplace_back(device, s.padded_numel * element_bytes_, "parameters");
    }
  }
  ~FullParameters() {
    // Requests still in flight must complete before their buffers go (MPI forbids freeing
    // an active request); a failed peer has already ended the run by then.
    try {
      for (auto& r : pending_) comm::finish(r);
    } catch (...) {
    }
  }
  FullParameters(const FullParameters&) = delete;
  FullParameters& operator=(const FullParameters&) = delete;

  // The unit's full parameters, once the gather of its latest update (if any) is done.
  void* full(int unit) {
    comm::finish(pending_[unit]);
    return buffers_[unit].data();
  }
  // This rank's shard: where the optimizer writes the updated values.
  void* shard(int unit) { return buffers_[unit].data() + shards_[unit].begin * element_bytes_; }
  int64_t bytes() const {
    int64_t b = 0;
    for (const auto& buf : buffers_) b += buf.bytes();
    return b;
  }
  // Starts all-gathering the unit's updated shards in place; full(unit) waits for it.
  void start_gather(int unit) {
    comm::finish(pending_[unit]);
    const int64_t n = shards_[unit].shard_numel;
    std::byte* base = buffers_[unit].data();
    pending_[unit] = comm_.all_gather(base + comm_.rank() * n * element_bytes_, base, n, type_);
    if (!overlap_comm_) comm::finish(pending_[unit]);
  }

 private:
  const std::vector<UnitShard>& shards_;
  comm::Communicator& comm_;
  comm::DataType type_;
  int64_t element_bytes_;
  bool overlap_comm_;
  std::vector<runtime::DeviceBuffer<std::byte>> buffers_;
  std::vector<comm::RequestPtr> pending_;  // [unit] the gather in flight, if any
};

}  // namespace zerotune::train
