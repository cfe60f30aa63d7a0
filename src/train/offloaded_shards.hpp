// Stage 3's compute-dtype parameter shards off the device (zero.offload_param), behind one
// interface with two homes:
//   cpu   host memory, one buffer per unit (host_shards.hpp)
//   nvme  one file per rank under zero.nvme_path, read through a few host slots (nvme_shards.cpp)
// A shard reaches the device through the staging buffer of the gather that uses it: the
// all-gather reads staging[b], and a staging buffer is reused only with its gather buffer,
// that is after the previous all-gather from it was waited for.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "zerotune/runtime/device.hpp"

namespace zerotune::train {

class OffloadedShards {
 public:
  virtual ~OffloadedShards() = default;
  // Starts bringing the unit's shard to host memory (nvme: a read ahead of its gather).
  virtual void prefetch(int /*unit*/) {}
  // The unit's shard on the device, in staging buffer `b`, ordered before the compute stream's
  // next work (the all-gather that reads it). Throws LibraryError when a read fails.
  virtual const void* to_device(int unit, int b) = 0;
  // Where the offloaded update writes the unit's new shard in place (cpu), or nullptr: then
  // it writes into a host buffer and calls write().
  virtual void* host_shard(int /*unit*/) { return nullptr; }
  // Stores the first `size_bytes` of the unit's new shard from host memory at `data` (the
  // rank's updated range; the rest of the shard is padding, kept zero). Safe from the update's
  // thread while the main thread brings other units to the device.
  virtual void write(int unit, const void* data, int64_t size_bytes) = 0;
  // Whether reading a shard ahead of its gather pays (nvme: the read is slow).
  virtual bool reads_ahead() const { return false; }
  // After an update started: host copies of shards read before it are stale.
  virtual void forget_reads() {}
  virtual int64_t host_bytes() const = 0;
  virtual int64_t nvme_bytes() const { return 0; }
  virtual int64_t staging_bytes() const = 0;
  virtual std::string describe() const = 0;  // for the .out
};

// The nvme home's host slots for `gather_buffers` gathers: the unit in use, the prefetched
// next one, and the reads ahead of them (it also holds one write buffer as large as a slot).
constexpr int nvme_shard_slots(int gather_buffers) { return gather_buffers + 2; }

// Moves `device_shards` (compute dtype, one per unit) off the device; the vector is cleared.
std::unique_ptr<OffloadedShards> make_host_shards(
    runtime::Device& device, std::vector<runtime::DeviceBuffer<std::byte>>& device_shards,
    int gather_buffers, bool pinned);
// In the file `directory / file_name`, created here and unlinked at once (SwapFile). Throws
// LibraryError when it cannot be created.
std::unique_ptr<OffloadedShards> make_nvme_shards(
    runtime::Device& device, std::vector<runtime::DeviceBuffer<std::byte>>& device_shards,
    int gather_buffers, bool pinned, const std::filesystem::path& directory,
    const std::string& file_name, bool use_io_uring);

}  // namespace zerotune::train
