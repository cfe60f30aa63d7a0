// The device and cpu tiers of the optimizer state, and the factory of all three.
#include "zerotune/train/optimizer_state_store.hpp"

#include <algorithm>
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

}  // namespace

StateStoreBytes state_store_bytes(const StateStoreSettings& settings,
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

std::unique_ptr<OptimizerStateStore> make_optimizer_state_store(
    const StateStoreSettings& settings, const std::vector<int64_t>& unit_counts,
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

}  // namespace zerotune::train
