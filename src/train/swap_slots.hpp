// A few aligned host slots that hold regions of a SwapFile, the least recently used given up
// first: what the two nvme homes share (the optimizer state's units, nvme_state_store.cpp,
// and stage 3's parameter shards, nvme_shards.cpp). A slot is reused only once the transfers
// that use its memory are done: a read into it, a write from it, and a device copy from it.
// One thread at a time (SwapFile's ring is not thread-safe): the optimizer state's slots are
// used by the offloaded update's thread while it runs, the shards' by the main thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "zerotune/runtime/device.hpp"
#include "zerotune/train/swap_file.hpp"

namespace zerotune::train {

class SwapSlots {
 public:
  struct Slot {
    runtime::HostBuffer<std::byte> memory;
    int unit = -1;
    bool held = false;         // in use by the caller: never given up
    uint64_t read = 0;         // SwapFile ticket of the read into the slot in flight, 0 if none
    uint64_t write = 0;        // SwapFile ticket of the write from the slot in flight, 0 if none
    uint64_t device_copy = 0;  // Device ticket of the last copy out of the slot, 0 if none
    uint64_t last_use = 0;
  };

  SwapSlots() = default;
  // `count` slots of `bytes` each (a multiple of SwapFile::kAlignment), page-locked if pinned.
  SwapSlots(runtime::Device& device, SwapFile& file, int count, int64_t bytes, bool pinned)
      : device_(&device), file_(&file), slots_(count) {
    for (Slot& s : slots_) s.memory = runtime::HostBuffer<std::byte>(device, bytes, pinned);
  }

  Slot* find(int unit) {
    for (Slot& s : slots_) {
      if (s.unit == unit) return &s;
    }
    return nullptr;
  }
  // Starts reading the unit's region (`bytes` at `offset`) into a slot, unless one has it.
  void prefetch(int unit, size_t bytes, int64_t offset) {
    if (!find(unit)) start_read(evict(), unit, bytes, offset);
  }
  // The slot holding the unit's region, read (and its read waited for) if none did.
  Slot& load(int unit, size_t bytes, int64_t offset) {
    Slot* slot = find(unit);
    if (!slot) {
      slot = &evict();
      start_read(*slot, unit, bytes, offset);
    }
    if (slot->read) {
      file_->wait(slot->read);
      slot->read = 0;
    }
    slot->last_use = ++clock_;
    return *slot;
  }
  // Every slot forgets its unit (its copy is stale), once its read is done.
  void forget() {
    for (Slot& s : slots_) {
      if (s.read) file_->wait(s.read);
      s.read = 0;
      s.unit = -1;
    }
  }
  // After the file's wait_all(): no transfer is in flight, the slots keep their units.
  void transfers_done() {
    for (Slot& s : slots_) s.read = s.write = 0;
  }
  int64_t bytes() const {
    int64_t b = 0;
    for (const Slot& s : slots_) b += s.memory.bytes();
    return b;
  }
  int count() const { return static_cast<int>(slots_.size()); }

 private:
  // The least recently used slot that no one holds, with its transfers finished.
  Slot& evict() {
    Slot* victim = nullptr;
    for (Slot& s : slots_) {
      if (!s.held && (!victim || s.last_use < victim->last_use)) victim = &s;
    }
    if (!victim) throw std::logic_error("SwapSlots: every slot is held");
    if (victim->read) file_->wait(victim->read);
    if (victim->write) file_->wait(victim->write);
    device_->wait_copy(victim->device_copy);
    victim->read = victim->write = victim->device_copy = 0;
    victim->unit = -1;
    return *victim;
  }

  void start_read(Slot& slot, int unit, size_t bytes, int64_t offset) {
    slot.unit = unit;
    slot.last_use = ++clock_;
    slot.read = file_->submit_read(slot.memory.data(), bytes, offset);
  }

  runtime::Device* device_ = nullptr;
  SwapFile* file_ = nullptr;
  std::vector<Slot> slots_;
  uint64_t clock_ = 0;
};

}  // namespace zerotune::train
