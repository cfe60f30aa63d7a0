// What every ZeRO stage shares: fp32 masters and optimizer state over this rank's range, the
// gradient norm from shards, and the update that splits a range by its tensors' weight decay.
#include "zerotune/train/zero_engine.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>

#include "gradient_collectives.hpp"
#include "zerotune/train/host_cast.hpp"

namespace zerotune::train {

std::unique_ptr<ZeroEngine> make_zero_stage0(const model::Gpt2Layout&, const OptimizerSettings&,
                                             comm::Communicator&, ops::Backend&,
                                             const CommSettings&);
std::unique_ptr<ZeroEngine> make_zero_stage1(const model::Gpt2Layout&, const OptimizerSettings&,
                                             comm::Communicator&, ops::Backend&,
                                             const CommSettings&);
std::unique_ptr<ZeroEngine> make_zero_stage2(const model::Gpt2Layout&, const OptimizerSettings&,
                                             comm::Communicator&, ops::Backend&,
                                             const CommSettings&);
std::unique_ptr<ZeroEngine> make_zero_stage3(const model::Gpt2Layout&, const OptimizerSettings&,
                                             comm::Communicator&, ops::Backend&,
                                             const CommSettings&);

CommSettings comm_settings(const config::ZeroConfig& zero) {
  CommSettings s;
  s.overlap_comm = zero.overlap_comm;
  s.reduce_bucket_size = zero.reduce_bucket_size;
  s.prefetch_bucket_size = zero.prefetch_bucket_size;
  s.param_persistence_threshold = zero.param_persistence_threshold;
  s.reduce_dtype = dtype_from_name(zero.reduce_dtype.c_str());
  return s;
}

OffloadSettings offload_settings(const config::ZeroConfig& zero) {
  OffloadSettings o;
  o.optimizer_tier = parse_state_tier(zero.offload_optimizer);
  o.parameter_tier = parse_state_tier(zero.offload_param);
  o.optimizer_ratio = zero.offload_optimizer_ratio;
  o.pin_memory = zero.pin_memory;
  o.nvme_path = zero.nvme_path;
  return o;
}

std::unique_ptr<ZeroEngine> ZeroEngine::create(int stage, const model::Gpt2Layout& layout,
                                               const OptimizerSettings& optimizer,
                                               comm::Communicator& comm, ops::Backend& backend,
                                               const CommSettings& settings,
                                               const OffloadSettings& offload) {
  if (offload.optimizer_tier != StateTier::kDevice && stage == 0) {
    throw std::invalid_argument("zero.offload_optimizer needs zero.stage 1, 2 or 3");
  }
  std::unique_ptr<ZeroEngine> engine;
  switch (stage) {
    case 0:
      engine = make_zero_stage0(layout, optimizer, comm, backend, settings);
      break;
    case 1:
      engine = make_zero_stage1(layout, optimizer, comm, backend, settings);
      break;
    case 2:
      engine = make_zero_stage2(layout, optimizer, comm, backend, settings);
      break;
    case 3:
      engine = make_zero_stage3(layout, optimizer, comm, backend, settings);
      break;
    default:
      throw std::invalid_argument("zero.stage must be 0, 1, 2 or 3");
  }
  if (offload.parameter_tier != StateTier::kDevice) {
    if (offload.optimizer_tier == StateTier::kDevice) {
      throw std::invalid_argument("zero.offload_param needs zero.offload_optimizer cpu or nvme");
    }
    if (offload.optimizer_ratio < 1.0) {  // the device update would write host shards
      throw std::invalid_argument(
          "zero.offload_optimizer_ratio below 1 needs zero.offload_param none");
    }
    engine->offload_parameters(offload, offload.pin_memory && !backend.device().is_host());
    engine->parameters_offloaded_ = true;
  }
  engine->allocate_optimizer_state(offload);
  return engine;
}

ZeroEngine::ZeroEngine(int stage, const model::Gpt2Layout& layout,
                       const OptimizerSettings& optimizer, comm::Communicator& comm,
                       ops::Backend& backend, const CommSettings& settings)
    : stage_(stage),
      settings_(settings),
      layout_(layout),
      shards_(make_shards(layout, comm.size(), comm.rank())),
      optimizer_(optimizer),
      comm_(comm),
      backend_(backend),
      device_(backend.device()),
      collectives_(std::make_unique<GradientCollectives>(comm, backend, settings.reduce_dtype,
                                                         settings.overlap_comm)) {}

ZeroEngine::~ZeroEngine() = default;

int units_kept_on_device(const model::Gpt2Layout& layout, double ratio) {
  if (ratio >= 1.0) return 0;
  const double keep = (1.0 - ratio) * static_cast<double>(layout.total_numel());
  int k = 0;
  int64_t kept = 0;
  while (k < static_cast<int>(layout.units.size()) &&
         static_cast<double>(kept + layout.units[k].numel) <= keep) {
    kept += layout.units[k++].numel;
  }
  return k;
}

StateStoreSettings state_store_settings(const OffloadSettings& offload, DType compute_dtype,
                                        OptimizerKind optimizer, const model::Gpt2Layout& layout) {
  StateStoreSettings settings;
  settings.tier = offload.optimizer_tier;
  settings.masters = compute_dtype != DType::kFloat32 || settings.tier != StateTier::kDevice;
  settings.device_masters = compute_dtype != DType::kFloat32;
  if (settings.tier != StateTier::kDevice) {
    settings.units_on_device = units_kept_on_device(layout, offload.optimizer_ratio);
  }
  settings.optimizer_states = optimizer_state_count(optimizer);
  settings.pin_memory = offload.pin_memory;
  settings.nvme_path = offload.nvme_path;
  settings.use_io_uring = offload.use_io_uring;
  return settings;
}

void ZeroEngine::allocate_optimizer_state(const OffloadSettings& offload) {
  StateStoreSettings settings =
      state_store_settings(offload, compute_dtype(), optimizer_.kind, layout_);
  units_on_device_ = settings.units_on_device;
  char name[64];
  std::snprintf(name, sizeof(name), "zerotune-optimizer-rank-%05d-pid-%d.swp", comm_.rank(),
                static_cast<int>(::getpid()));
  settings.file_name = name;
  std::vector<int64_t> counts;
  for (size_t u = 0; u < shards_.size(); ++u) {
    counts.push_back(optimizer_range(static_cast<int>(u)).owned());
  }
  store_ = make_optimizer_state_store(settings, counts, device_);
  if (store_->in_device_memory()) return;
  host_pool_ = std::make_unique<HostThreadPool>(offload.cpu_threads);
  const bool pinned = offload.pin_memory && !device_.is_host();
  int64_t largest = 0;
  for (size_t u = 0; u < counts.size(); ++u) {
    const int64_t n = static_cast<int>(u) < units_on_device_ ? 0 : counts[u];
    host_gradients_.emplace_back(device_, n, pinned);
    host_parameters_.emplace_back(device_, parameters_offloaded_ ? 0 : compute_bytes(n), pinned);
    largest = std::max(largest, n);
  }
  if (offload.parameter_tier == StateTier::kNvme) {
    parameter_write_buffer_ =
        runtime::HostBuffer<std::byte>(device_, compute_bytes(largest), pinned);
  }
  gradient_copied_.assign(counts.size(), false);
  parameter_upload_.assign(counts.size(), 0);
  units_settled_ = static_cast<int>(counts.size());  // no update in flight
  uploads_issued_ = units_settled_;
}

UnitShard ZeroEngine::optimizer_range(int unit) const {
  UnitShard range = shards_[unit];
  if (stage_ == 0) {
    range.begin = 0;
    range.end = range.numel;
  }
  return range;
}

UnitState ZeroEngine::acquire_state(int unit) {
  UnitState state = store_->acquire(unit);
  if (!state.master) state.master = static_cast<float*>(compute_parameters(unit));
  return state;
}

comm::DataType ZeroEngine::compute_comm_type() const { return comm::data_type_of(compute_dtype()); }

void ZeroEngine::upload_compute_copy(int unit, const float* host_master, int64_t count) {
  if (!mixed_precision() && !parameters_offloaded_) {  // the master is the compute copy
    device_.copy(compute_parameters(unit), host_master, count * sizeof(float));
    return;
  }
  std::vector<std::byte> cast(static_cast<size_t>(compute_bytes(count)));
  host_cast_from_float(cast.data(), host_master, count, compute_dtype());
  if (parameters_offloaded_) {
    store_offloaded_shard(unit, cast.data(), compute_bytes(count));
  } else {
    device_.copy(compute_parameters(unit), cast.data(), cast.size());
  }
}

void ZeroEngine::set_unit_parameters(int unit, const float* full_values) {
  finish_offloaded_step();
  const UnitShard range = optimizer_range(unit);
  const UnitState state = acquire_state(unit);
  if (store_->unit_in_device_memory(unit)) {
    device_.copy(state.master, full_values + range.begin, range.owned() * sizeof(float));
    if (mixed_precision()) {
      backend_.cast_from_float(compute_parameters(unit), state.master, range.owned());
    }
  } else {
    std::copy(full_values + range.begin, full_values + range.end, state.master);
    upload_compute_copy(unit, state.master, range.owned());
  }
  store_->release(unit, true);
  // Stages 1 and 2 hold every parameter: the other ranks' ranges come from the same values.
  if (stage_ == 1 || stage_ == 2) {
    runtime::DeviceBuffer<float> full(device_, shards_[unit].numel, "parameter upload");
    device_.copy(full.data(), full_values, full.bytes());
    auto* base = static_cast<std::byte*>(compute_parameters(unit)) - compute_bytes(range.begin);
    if (mixed_precision()) {
      backend_.cast_from_float(base, full.data(), full.size());
    } else {
      device_.copy(base, full.data(), full.bytes());
    }
    return;  // every rank's range is in place: nothing to gather
  }
  unit_updated(unit);  // stage 3's persistent copies
}

void ZeroEngine::get_unit_parameters(int unit, float* full_values) {
  join_host_update();
  const UnitShard& s = shards_[unit];
  const UnitState state = acquire_state(unit);
  if (stage_ == 0) {
    device_.copy(full_values, state.master, s.numel * sizeof(float));
    store_->release(unit, false);
    return;
  }
  runtime::DeviceBuffer<float> gathered(device_, s.padded_numel, "parameter download");
  runtime::DeviceBuffer<float> mine(device_, s.shard_numel, "parameter download");
  device_.copy(mine.data(), state.master, s.owned() * sizeof(float));
  store_->release(unit, false);
  comm_.all_gather(mine.data(), gathered.data(), s.shard_numel, comm::DataType::kFloat32)->wait();
  device_.copy(full_values, gathered.data(), s.numel * sizeof(float));
}

void ZeroEngine::parameters_loaded() {
  finish_offloaded_step();
  for (size_t u = 0; u < shards_.size(); ++u) {
    const int unit = static_cast<int>(u);
    const bool on_device = store_->unit_in_device_memory(unit);
    if (on_device && !mixed_precision()) continue;  // the master is the copy
    const UnitState state = acquire_state(unit);
    if (on_device) {
      backend_.cast_from_float(compute_parameters(unit), state.master, state.count);
    } else {
      upload_compute_copy(unit, state.master, state.count);
    }
    store_->release(unit, false);
  }
  for (size_t u = 0; u < shards_.size(); ++u) unit_updated(static_cast<int>(u));
  after_update();
}

UnitStateRanges ZeroEngine::acquire_unit_state(int unit) {
  join_host_update();
  const UnitShard range = optimizer_range(unit);
  const UnitState state = acquire_state(unit);
  const bool host = !store_->unit_in_device_memory(unit) || device_.is_host();
  UnitStateRanges r;
  r.params = {range.begin, range.owned(), state.master, host};
  for (int i = 0; i < optimizer_state_count(); ++i) {
    r.states.push_back({range.begin, range.owned(), state.state[i], host});
  }
  return r;
}

void ZeroEngine::release_unit_state(int unit, bool modified) { store_->release(unit, modified); }

void ZeroEngine::begin_step() {
  clear_gradients();
  gradient_copied_.assign(gradient_copied_.size(), false);
  last_micro_batch_ = true;
}

void ZeroEngine::begin_micro_batch(bool last_in_step) { last_micro_batch_ = last_in_step; }

void ZeroEngine::finish_gradients() { complete_gradient_collectives(); }

double ZeroEngine::global_grad_norm() {
  std::vector<ops::Backend::Span> spans;
  for (size_t u = 0; u < shards_.size(); ++u) {
    const int unit = static_cast<int>(u);
    spans.push_back({reduced_gradients(unit), optimizer_range(unit).owned()});
  }
  double sum_squares = backend_.sum_of_squares(spans);
  // One all-reduce of one number: shards are disjoint, so their squares add up.
  if (!gradients_replicated())
    sum_squares = comm_.all_reduce_value(sum_squares, comm::ReduceOp::kSum);
  return std::sqrt(sum_squares);
}

ops::UpdateRule ZeroEngine::update_rule(double lr, double grad_scale) const {
  ops::UpdateRule rule;
  rule.adamw = optimizer_.kind == OptimizerKind::kAdamW;
  rule.lr = lr;
  rule.beta1 = optimizer_.beta1;
  rule.beta2 = optimizer_.beta2;
  rule.eps = optimizer_.eps;
  rule.momentum = optimizer_.momentum;
  rule.weight_decay = optimizer_.weight_decay;
  rule.grad_scale = grad_scale;
  rule.step = optimizer_steps_;
  return rule;
}

std::vector<ops::UpdateSegment> ZeroEngine::update_segments(int unit) const {
  const UnitShard range = optimizer_range(unit);
  std::vector<ops::UpdateSegment> segments;
  // Split the range at tensor boundaries: weight decay is per tensor.
  for (const auto& tensor : layout_.units[unit].tensors) {
    const int64_t lo = std::max(range.begin, tensor.offset);
    const int64_t hi = std::min(range.end, tensor.offset + tensor.numel);
    if (lo >= hi) continue;
    segments.push_back({lo - range.begin, hi - lo, tensor.weight_decay});
  }
  return segments;
}

void ZeroEngine::optimizer_step(double lr, double grad_scale) {
  ++optimizer_steps_;
  const ops::UpdateRule rule = update_rule(lr, grad_scale);
  if (offloaded()) {
    finish_offloaded_step();
    after_update();  // before the update writes what a prefetch may still read
    // A partial offload's device units first: the next forward starts with them.
    for (int u = 0; u < units_on_device_; ++u) update_on_device(u, rule);
    start_offloaded_step(rule);
    return;
  }
  for (size_t u = 0; u < shards_.size(); ++u) update_on_device(static_cast<int>(u), rule);
  after_update();
}

void ZeroEngine::update_on_device(int unit, const ops::UpdateRule& rule) {
  const std::vector<ops::UpdateSegment> segments = update_segments(unit);
  if (!segments.empty()) {
    const UnitState state = acquire_state(unit);
    backend_.optimizer_update(state.master, reduced_gradients(unit), state.state[0], state.state[1],
                              mixed_precision() ? compute_parameters(unit) : nullptr, state.count,
                              segments, rule);
    store_->release(unit, true);
  }
  unit_updated(unit);  // a rank without a range of the unit still joins its gather
}

MemoryAccount ZeroEngine::memory_account() const {
  MemoryAccount account;
  account.model_parameters = layout_.total_numel();
  const StateStoreBytes b = store_->bytes();
  // The fp32 masters are part of the optimizer's 12 bytes per parameter (DESIGN.md's theory).
  account.master_bytes = b.device_master;
  account.optimizer_bytes = b.device_state + b.device_master;
  account.host_optimizer_bytes = b.host_master + b.host_state;
  for (const auto& b : host_gradients_) account.host_optimizer_bytes += b.bytes();
  for (const auto& b : host_parameters_) account.host_optimizer_bytes += b.bytes();
  account.host_optimizer_bytes += parameter_write_buffer_.bytes();
  account.nvme_optimizer_bytes = b.nvme;
  return account;
}

}  // namespace zerotune::train
