// Where the optimizer's per-unit state lives (DESIGN.md "Offload tiers"): for each unit, the
// fp32 master weights and the optimizer states (AdamW m and v, SGD's momentum) over the
// engine's optimizer_range(unit). Three tiers behind one interface:
//   device  today's layout: device buffers; masters only in mixed precision (in fp32 the
//           compute copy is the master, and the engine serves it)
//   cpu     host memory, page-locked on a GPU when zero.pin_memory (plain on CPU runs)
//   nvme    one file per rank under zero.nvme_path, read and written through a few aligned
//           host slots so the read of the next unit and the write of the previous one
//           overlap the update of this one
// A unit's state is used between acquire(unit) and release(unit): the memory tiers hand out
// their own memory; nvme loads the unit into a slot (waiting for a prefetch(unit) issued
// earlier, if any) and writes it back on release when it changed.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "zerotune/runtime/device.hpp"

namespace zerotune::train {

enum class StateTier { kDevice, kCpu, kNvme };

// "none" (the device), "cpu", "nvme": zero.offload_optimizer's values. Throws
// std::invalid_argument for anything else (the config checked it already).
StateTier parse_state_tier(const std::string& offload_optimizer);
const char* state_tier_name(StateTier tier);  // "device", "cpu", "nvme"

// One unit's state: `count` floats each, in the tier's memory (device or host).
struct UnitState {
  float* master = nullptr;  // nullptr on the device tier in fp32 (the compute copy is it)
  float* state[2] = {nullptr, nullptr};  // optimizer states; unused ones nullptr
  int64_t count = 0;
};

struct StateStoreSettings {
  StateTier tier = StateTier::kDevice;
  bool masters = true;  // false: the device tier keeps no separate fp32 master (fp32 runs)
  int optimizer_states = 2;
  bool pin_memory = true;           // page-locked host memory on a GPU (cpu and nvme tiers)
  std::filesystem::path nvme_path;  // folder of the nvme tier's file
  std::string file_name;            // the nvme file's name inside it (one per rank)
  bool use_io_uring = true;         // false: pread/pwrite (tests of the fallback)
  // cpu and nvme tiers: the first units whose state stays in device memory all the same
  // (zero.offload_optimizer_ratio below 1); masters there only when `device_masters`.
  int units_on_device = 0;
  bool device_masters = true;
};

// Bytes by where they live (the start-of-run memory table).
struct StateStoreBytes {
  int64_t device_master = 0, device_state = 0;
  int64_t host_master = 0, host_state = 0;  // resident host memory, nvme's slots included
  int64_t nvme = 0;                         // the file's size
};

class OptimizerStateStore {
 public:
  virtual ~OptimizerStateStore() = default;
  virtual StateTier tier() const = 0;
  // True when acquire() hands out device memory for every unit (the update then runs on the
  // device).
  bool in_device_memory() const { return tier() == StateTier::kDevice; }
  // The same for one unit: true for the units a partial offload keeps on the device.
  virtual bool unit_in_device_memory(int /*unit*/) const { return in_device_memory(); }

  // Starts loading `unit` so that a later acquire(unit) finds it (nvme; else nothing).
  virtual void prefetch(int /*unit*/) {}
  // The unit's state, valid until release(unit). At most a few units may be acquired at once
  // (kMaxAcquired); they come back zero-initialised before their first write.
  static constexpr int kMaxAcquired = 2;
  virtual UnitState acquire(int unit) = 0;
  // `modified`: the state changed and must reach the tier (nvme writes it back, async).
  virtual void release(int /*unit*/, bool /*modified*/) {}
  // Waits for every queued write (before a checkpoint's files are final, and at the end).
  virtual void flush() {}

  virtual StateStoreBytes bytes() const = 0;
  // One line for the .out: where the state lives ("optimizer state in pinned host memory").
  virtual std::string describe() const = 0;
};

// The nvme tier's aligned host slots: the unit being updated, the next one being read and the
// previous one being written.
inline constexpr int kNvmeStateSlots = 3;

// Bytes of one unit of `count` floats per array in the nvme tier's file (and in each slot):
// every one of its `arrays` arrays (master + optimizer states) padded to SwapFile::kAlignment,
// so a unit is one aligned transfer.
int64_t nvme_unit_bytes(int64_t count, int arrays);

// What make_optimizer_state_store(settings, unit_counts) allocates, by where, computed from the
// sizes alone (the stores' bytes() count their buffers): device masters 4 * sum counts when
// settings.masters, device states 4 * optimizer_states * sum counts; cpu 4 * (1 +
// optimizer_states) * sum counts in host memory (the master always apart); nvme the file,
// sum nvme_unit_bytes, and kNvmeStateSlots slots of the largest unit in host memory. With
// settings.units_on_device, those units count as the device tier's (masters when
// settings.device_masters) and the rest as the offload tier's.
StateStoreBytes state_store_bytes(const StateStoreSettings& settings,
                                  const std::vector<int64_t>& unit_counts);

// A store for units of unit_counts[u] elements each. Throws LibraryError when the nvme file
// cannot be created, std::bad_alloc / OutOfDeviceMemory when memory runs out.
std::unique_ptr<OptimizerStateStore> make_optimizer_state_store(
    const StateStoreSettings& settings, const std::vector<int64_t>& unit_counts,
    runtime::Device& device);

}  // namespace zerotune::train
