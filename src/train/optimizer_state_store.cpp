// The device and cpu tiers of the optimizer state, and the factory of all three.
#include "zerotune/train/optimizer_state_store.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <stdexcept>

namespace zerotune::train {

std::unique_ptr<OptimizerStateStore> make_nvme_state_store(const StateStoreSettings& settings,
                                                           const std::vector<int64_t>& unit_counts,
                                                           runtime::Device& device);

StateTier parse_state_tier(const std::string& offload_optimizer) {
  if (offload_optimizer == "none") return StateTier::kDevice;
  if (offload_optimizer == "cpu") return StateTier::kCpu;
  if (offload_optimizer == "nvme") return StateTier::kNvme;
  throw std::invalid_argument("zero.offload_optimizer must be none, cpu or nvme, got " +
                              offload_optimizer);
}

const char* state_tier_name(StateTier tier) {
  switch (tier) {
    case StateTier::kCpu:
      return "cpu";
    case StateTier::kNvme:
      return "nvme";
    case StateTier::kDevice:
      break;
  }
  return "device";
}

namespace {

// Today's layout: one device buffer per unit and array.
class DeviceStateStore : public OptimizerStateStore {
 public:
  DeviceStateStore(const StateStoreSettings& s, const std::vector<int64_t>& counts,
                   runtime::Device& device)
      : counts_(counts) {
    state_.resize(s.optimizer_states);
    for (auto& per_unit : state_) {
      for (int64_t n : counts) per_unit.emplace_back(device, n, "optimizer state");
    }
    if (s.masters) {
      for (int64_t n : counts) master_.emplace_back(device, n, "fp32 master weights");
    }
  }
  StateTier tier() const override { return StateTier::kDevice; }
  UnitState acquire(int unit) override {
    UnitState u;
    u.count = counts_[unit];
    if (!master_.empty()) u.master = master_[unit].data();
    for (size_t i = 0; i < state_.size(); ++i) u.state[i] = state_[i][unit].data();
    return u;
  }
  StateStoreBytes bytes() const override {
    StateStoreBytes b;
    for (const auto& per_unit : state_) {
      for (const auto& buffer : per_unit) b.device_state += buffer.bytes();
    }
    for (const auto& buffer : master_) b.device_master += buffer.bytes();
    return b;
  }
  std::string describe() const override { return "optimizer state in device memory"; }

 private:
  std::vector<int64_t> counts_;
  std::vector<std::vector<runtime::DeviceBuffer<float>>> state_;  // [which][unit]
  std::vector<runtime::DeviceBuffer<float>> master_;
};

// Host memory, one block per unit: [master | state 0 | state 1], `count` floats each.
class CpuStateStore : public OptimizerStateStore {
 public:
  CpuStateStore(const StateStoreSettings& s, const std::vector<int64_t>& counts,
                runtime::Device& device)
      : counts_(counts), states_(s.optimizer_states) {
    pinned_ = s.pin_memory && !device.is_host();
    for (int64_t n : counts) {
      blocks_.emplace_back(device, n * (1 + states_), pinned_);
      if (blocks_.back().data()) std::memset(blocks_.back().data(), 0, blocks_.back().bytes());
    }
  }
  StateTier tier() const override { return StateTier::kCpu; }
  UnitState acquire(int unit) override {
    UnitState u;
    u.count = counts_[unit];
    float* base = blocks_[unit].data();
    u.master = base;
    for (int i = 0; i < states_; ++i) u.state[i] = base + (1 + i) * u.count;
    return u;
  }
  StateStoreBytes bytes() const override {
    StateStoreBytes b;
    for (size_t u = 0; u < blocks_.size(); ++u) {
      const auto master = counts_[u] * static_cast<int64_t>(sizeof(float));
      b.host_master += master;
      b.host_state += static_cast<int64_t>(blocks_[u].bytes()) - master;
    }
    return b;
  }
  std::string describe() const override {
    return pinned_ ? "optimizer state in pinned host memory" : "optimizer state in host memory";
  }

 private:
  std::vector<int64_t> counts_;
  int states_;
  bool pinned_ = false;
  std::vector<runtime::HostBuffer<float>> blocks_;
};

// A partial offload (DeepSpeed's offload_optimizer.ratio): units [0, k) in a device store,
// the others in the offload tier's store; each store sees the other's units as empty.
class SplitStateStore : public OptimizerStateStore {
 public:
  SplitStateStore(std::unique_ptr<OptimizerStateStore> device,
                  std::unique_ptr<OptimizerStateStore> offloaded, int units_on_device,
                  int64_t device_elements, int64_t total_elements)
      : device_(std::move(device)),
        offloaded_(std::move(offloaded)),
        k_(units_on_device),
        device_share_(total_elements > 0 ? static_cast<double>(device_elements) / total_elements
                                         : 0.0) {}
  StateTier tier() const override { return offloaded_->tier(); }
  bool unit_in_device_memory(int unit) const override { return unit < k_; }
  void prefetch(int unit) override {
    if (unit >= k_) offloaded_->prefetch(unit);
  }
  UnitState acquire(int unit) override {
    return unit < k_ ? device_->acquire(unit) : offloaded_->acquire(unit);
  }
  void release(int unit, bool modified) override {
    (unit < k_ ? device_ : offloaded_)->release(unit, modified);
  }
  void flush() override { offloaded_->flush(); }
  StateStoreBytes bytes() const override {
    StateStoreBytes b = offloaded_->bytes();
    const StateStoreBytes d = device_->bytes();
    b.device_master = d.device_master;
    b.device_state = d.device_state;
    return b;
  }
  std::string describe() const override {
    char share[32];
    std::snprintf(share, sizeof(share), "%.0f%%", 100.0 * device_share_);
    return "units 0-" + std::to_string(k_ - 1) + " (" + share + " of the parameters) in device " +
           "memory, the rest: " + offloaded_->describe();
  }

 private:
  std::unique_ptr<OptimizerStateStore> device_, offloaded_;
  int k_;
  double device_share_;
};

std::unique_ptr<OptimizerStateStore> make_single_tier_store(const StateStoreSettings& settings,
                                                            const std::vector<int64_t>& unit_counts,
                                                            runtime::Device& device);

StateStoreBytes single_tier_bytes(const StateStoreSettings& settings,
                                  const std::vector<int64_t>& unit_counts) {
  constexpr auto F = static_cast<int64_t>(sizeof(float));
  int64_t total = 0, largest_unit = 0;
  for (int64_t n : unit_counts) total += n;
  StateStoreBytes b;
  switch (settings.tier) {
    case StateTier::kCpu:
      b.host_master = F * total;
      b.host_state = F * settings.optimizer_states * total;
      break;
    case StateTier::kNvme:
      for (int64_t n : unit_counts) {
        const int64_t unit = nvme_unit_bytes(n, 1 + settings.optimizer_states);
        b.nvme += unit;
        largest_unit = std::max(largest_unit, unit);
      }
      b.host_state = kNvmeStateSlots * largest_unit;
      break;
    case StateTier::kDevice:
      b.device_master = settings.masters ? F * total : 0;
      b.device_state = F * settings.optimizer_states * total;
      break;
  }
  return b;
}

// A partial offload: the first settings.units_on_device units' counts for the device store,
// the others' for the offload tier's (each sees the other's units as empty), and the device
// store's settings. Empty `on_device` when nothing stays on the device.
struct SplitCounts {
  std::vector<int64_t> on_device, offloaded;
  StateStoreSettings device_settings;
  int units_on_device = 0;
};
SplitCounts split_counts(const StateStoreSettings& settings,
                         const std::vector<int64_t>& unit_counts) {
  SplitCounts split;
  split.offloaded = unit_counts;
  split.units_on_device =
      settings.tier == StateTier::kDevice
          ? 0
          : std::min<int>(settings.units_on_device, static_cast<int>(unit_counts.size()));
  if (split.units_on_device <= 0) return split;
  split.on_device.assign(unit_counts.size(), 0);
  for (int u = 0; u < split.units_on_device; ++u) std::swap(split.on_device[u], split.offloaded[u]);
  split.device_settings = settings;
  split.device_settings.tier = StateTier::kDevice;
  split.device_settings.masters = settings.device_masters;
  return split;
}

int64_t sum(const std::vector<int64_t>& v) {
  int64_t total = 0;
  for (int64_t n : v) total += n;
  return total;
}

}  // namespace

StateStoreBytes state_store_bytes(const StateStoreSettings& settings,
                                  const std::vector<int64_t>& unit_counts) {
  const SplitCounts split = split_counts(settings, unit_counts);
  StateStoreBytes b = single_tier_bytes(settings, split.offloaded);
  if (split.units_on_device > 0) {
    const StateStoreBytes d = single_tier_bytes(split.device_settings, split.on_device);
    b.device_master = d.device_master;
    b.device_state = d.device_state;
  }
  return b;
}

std::unique_ptr<OptimizerStateStore> make_optimizer_state_store(
    const StateStoreSettings& settings, const std::vector<int64_t>& unit_counts,
    runtime::Device& device) {
  const SplitCounts split = split_counts(settings, unit_counts);
  if (split.units_on_device <= 0) return make_single_tier_store(settings, unit_counts, device);
  return std::make_unique<SplitStateStore>(
      make_single_tier_store(split.device_settings, split.on_device, device),
      make_single_tier_store(settings, split.offloaded, device), split.units_on_device,
      sum(split.on_device), sum(unit_counts));
}

namespace {

std::unique_ptr<OptimizerStateStore> make_single_tier_store(const StateStoreSettings& settings,
                                                            const std::vector<int64_t>& unit_counts,
                                                            runtime::Device& device) {
  switch (settings.tier) {
    case StateTier::kCpu:
      return std::make_unique<CpuStateStore>(settings, unit_counts, device);
    case StateTier::kNvme:
      return make_nvme_state_store(settings, unit_counts, device);
    case StateTier::kDevice:
      break;
  }
  return std::make_unique<DeviceStateStore>(settings, unit_counts, device);
}

}  // namespace

}  // namespace zerotune::train
