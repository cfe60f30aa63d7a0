// Stage 3's parameter shards on NVMe (zero.offload_param: nvme, ZeRO-Infinity): one aligned
// region per unit in a file per rank, read with io_uring into a few host slots and copied from
// there into the gather's staging buffer. The host holds only the slots and one write buffer,
// not the shards.
//
// Threads: the main thread reads (prefetch, to_device, forget_reads) through the SwapFile's
// ring; the offloaded update's thread writes a unit's new shard with write(), a synchronous
// pwrite that does not touch the ring. A unit is read only after its update was written
// (the engine's await_parameters orders them), and forget_reads() drops every slot's copy
// when an update starts, so no slot serves a stale shard.
#include <algorithm>
#include <cstring>
#include <mutex>

#include "offloaded_shards.hpp"
#include "swap_slots.hpp"
#include "zerotune/train/swap_file.hpp"

namespace zerotune::train {

namespace {

class NvmeShards : public OffloadedShards {
 public:
  NvmeShards(runtime::Device& device, std::vector<runtime::DeviceBuffer<std::byte>>& device_shards,
             int gather_buffers, bool pinned, const std::filesystem::path& directory,
             const std::string& file_name, bool use_io_uring)
      : device_(device) {
    int64_t offset = 0, largest = 0, largest_shard = 0;
    for (const auto& d : device_shards) {
      bytes_.push_back(d.bytes());
      offsets_.push_back(offset);
      offset += SwapFile::aligned(d.bytes());
      largest = std::max(largest, SwapFile::aligned(d.bytes()));
      largest_shard = std::max(largest_shard, d.size());
    }
    SwapFileOptions options;
    options.use_io_uring = use_io_uring;
    file_ = std::make_unique<SwapFile>(directory / file_name, offset, options);
    write_buffer_ = runtime::HostBuffer<std::byte>(device, largest, pinned);
    for (size_t u = 0; u < device_shards.size(); ++u) {
      device.copy(write_buffer_.data(), device_shards[u].data(), device_shards[u].bytes());
      file_->write_now(write_buffer_.data(), region(static_cast<int>(u)), offsets_[u]);
    }
    device_shards.clear();
    slots_ = SwapSlots(device, *file_, nvme_shard_slots(gather_buffers), largest, pinned);
    for (int b = 0; b < gather_buffers; ++b) {
      staging_.emplace_back(device, largest_shard, "parameter shard staging");
    }
  }

  ~NvmeShards() override {
    try {
      file_->wait_all();  // before the slots the reads fill are freed
    } catch (...) {       // a failed read was or will be reported where it was waited for
    }
  }

  void prefetch(int unit) override { slots_.prefetch(unit, region(unit), offsets_[unit]); }

  const void* to_device(int unit, int b) override {
    SwapSlots::Slot& slot = slots_.load(unit, region(unit), offsets_[unit]);
    slot.device_copy = device_.copy_async(staging_[b].data(), slot.memory.data(), bytes_[unit]);
    device_.compute_waits_for_copies();
    return staging_[b].data();
  }

  void write(int unit, const void* data, int64_t size_bytes) override {
    std::lock_guard<std::mutex> lock(write_mutex_);
    std::memcpy(write_buffer_.data(), data, static_cast<size_t>(size_bytes));
    std::memset(write_buffer_.data() + size_bytes, 0,
                region(unit) - static_cast<size_t>(size_bytes));
    file_->write_now(write_buffer_.data(), region(unit), offsets_[unit]);
  }

  bool reads_ahead() const override { return true; }

  void forget_reads() override { slots_.forget(); }

  int64_t host_bytes() const override { return write_buffer_.bytes() + slots_.bytes(); }
  int64_t nvme_bytes() const override {
    return offsets_.empty() ? 0 : offsets_.back() + SwapFile::aligned(bytes_.back());
  }
  int64_t staging_bytes() const override {
    int64_t b = 0;
    for (const auto& s : staging_) b += s.bytes();
    return b;
  }
  std::string describe() const override {
    return "NVMe in " + file_->path().string() + " (" + std::to_string(slots_.count()) +
           " host slots" + (file_->direct_io() ? ", O_DIRECT" : ", buffered") + ")";
  }

 private:
  size_t region(int unit) const { return static_cast<size_t>(SwapFile::aligned(bytes_[unit])); }

  runtime::Device& device_;
  std::vector<int64_t> bytes_;    // [unit] shard bytes
  std::vector<int64_t> offsets_;  // [unit] region offset in the file
  std::unique_ptr<SwapFile> file_;
  runtime::HostBuffer<std::byte> write_buffer_;
  std::mutex write_mutex_;
  SwapSlots slots_;  // after file_: destroyed first
  std::vector<runtime::DeviceBuffer<std::byte>> staging_;
};

}  // namespace

std::unique_ptr<OffloadedShards> make_nvme_shards(
    runtime::Device& device, std::vector<runtime::DeviceBuffer<std::byte>>& device_shards,
    int gather_buffers, bool pinned, const std::filesystem::path& directory,
    const std::string& file_name, bool use_io_uring) {
  return std::make_unique<NvmeShards>(device, device_shards, gather_buffers, pinned, directory,
                                      file_name, use_io_uring);
}

}  // namespace zerotune::train
