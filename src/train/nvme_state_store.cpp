// The nvme tier: every unit's [master | state 0 | state 1] in one file per rank, each array
// padded to SwapFile::kAlignment so a unit is one aligned transfer. Units pass through
// kSlots aligned host slots: while the update works on unit u in one slot, the next unit is
// read into another (prefetch) and the previous one is written from a third.
#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "swap_slots.hpp"
#include "zerotune/train/optimizer_state_store.hpp"
#include "zerotune/train/swap_file.hpp"

namespace zerotune::train {

int64_t nvme_unit_bytes(int64_t count, int arrays) {
  return SwapFile::aligned(count * static_cast<int64_t>(sizeof(float))) * arrays;
}

namespace {

class NvmeStateStore : public OptimizerStateStore {
 public:
  static constexpr int kSlots = kNvmeStateSlots;

  NvmeStateStore(const StateStoreSettings& s, const std::vector<int64_t>& counts,
                 runtime::Device& device)
      : counts_(counts), arrays_(1 + s.optimizer_states) {
    int64_t offset = 0, largest = 0;
    for (int64_t n : counts) {
      offsets_.push_back(offset);
      const int64_t region = nvme_unit_bytes(n, arrays_);
      offset += region;
      largest = std::max(largest, region);
    }
    file_bytes_ = offset;
    pinned_ = s.pin_memory && !device.is_host();
    SwapFileOptions options;
    options.use_io_uring = s.use_io_uring;
    file_ = std::make_unique<SwapFile>(s.nvme_path / s.file_name, file_bytes_, options);
    slots_ = SwapSlots(device, *file_, kSlots, largest, pinned_);
  }

  ~NvmeStateStore() override {
    try {
      file_->wait_all();  // before the slots the transfers use are freed
    } catch (...) {       // the file goes with file_; an error was or will be seen elsewhere
    }
  }

  StateTier tier() const override { return StateTier::kNvme; }

  void prefetch(int unit) override { slots_.prefetch(unit, region(unit), offsets_[unit]); }

  UnitState acquire(int unit) override {
    SwapSlots::Slot* slot = &slots_.load(unit, region(unit), offsets_[unit]);
    if (slot->write) {  // the caller may change the memory a write still reads
      file_->wait(slot->write);
      slot->write = 0;
    }
    slot->held = true;
    UnitState u;
    u.count = counts_[unit];
    const int64_t stride = SwapFile::aligned(u.count * static_cast<int64_t>(sizeof(float)));
    auto* base = slot->memory.data();
    u.master = reinterpret_cast<float*>(base);
    for (int i = 0; i + 1 < arrays_; ++i)
      u.state[i] = reinterpret_cast<float*>(base + (1 + i) * stride);
    return u;
  }

  void release(int unit, bool modified) override {
    SwapSlots::Slot* slot = slots_.find(unit);
    if (!slot) return;
    slot->held = false;
    if (modified) {
      if (slot->write) file_->wait(slot->write);
      slot->write = file_->submit_write(slot->memory.data(), region(unit), offsets_[unit]);
    }
  }

  void flush() override {
    file_->wait_all();
    slots_.transfers_done();
  }

  StateStoreBytes bytes() const override {
    StateStoreBytes b;
    b.host_state = slots_.bytes();  // the slots: all the host memory this tier holds
    b.nvme = file_bytes_;
    return b;
  }

  std::string describe() const override {
    return "optimizer state on NVMe in " + file_->path().string() + " (" +
           (file_->direct_io() ? "O_DIRECT" : "buffered") + ", " +
           (file_->uses_io_uring() ? "io_uring" : "pread/pwrite") + ", " +
           (pinned_ ? "pinned" : "pageable") + " host slots)";
  }

 private:
  size_t region(int unit) const {
    return static_cast<size_t>(nvme_unit_bytes(counts_[unit], arrays_));
  }

  std::vector<int64_t> counts_;
  std::vector<int64_t> offsets_;
  int arrays_;
  int64_t file_bytes_ = 0;
  bool pinned_ = false;
  std::unique_ptr<SwapFile> file_;
  SwapSlots slots_;  // after file_: destroyed first
};

}  // namespace

std::unique_ptr<OptimizerStateStore> make_nvme_state_store(const StateStoreSettings& settings,
                                                           const std::vector<int64_t>& unit_counts,
                                                           runtime::Device& device) {
  return std::make_unique<NvmeStateStore>(settings, unit_counts, device);
}

}  // namespace zerotune::train
