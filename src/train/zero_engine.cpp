// What every ZeRO stage shares: fp32 masters and optimizer state over this rank's range, the
// gradient norm from shards, and the update that splits a range by its tensors' weight decay.
#include "zerotune/train/zero_engine.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "gradient_collectives.hpp"

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

std::unique_ptr<ZeroEngine> ZeroEngine::create(int stage, const model::Gpt2Layout& layout,
                                               const OptimizerSettings& optimizer,
                                               comm::Communicator& comm, ops::Backend& backend,
                                               const CommSettings& settings) {
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
  engine->allocate_masters();
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
                                                         settings.overlap_comm)) {
  optimizer_state_.resize(optimizer_state_count());
  for (auto& per_unit : optimizer_state_) {
    for (size_t u = 0; u < shards_.size(); ++u) {
      per_unit.emplace_back(device_, optimizer_range(static_cast<int>(u)).owned(),
                            "optimizer state");
    }
  }
}

ZeroEngine::~ZeroEngine() = default;

void ZeroEngine::allocate_masters() {
  if (!mixed_precision()) return;
  for (size_t u = 0; u < shards_.size(); ++u) {
    master_.emplace_back(device_, optimizer_range(static_cast<int>(u)).owned(),
                         "fp32 master weights");
  }
}

UnitShard ZeroEngine::optimizer_range(int unit) const {
  UnitShard range = shards_[unit];
  if (stage_ == 0) {
    range.begin = 0;
    range.end = range.numel;
  }
  return range;
}

float* ZeroEngine::master_parameters(int unit) {
  return mixed_precision() ? master_[unit].data() : static_cast<float*>(compute_parameters(unit));
}

comm::DataType ZeroEngine::compute_comm_type() const { return comm::data_type_of(compute_dtype()); }

StateRange ZeroEngine::parameters_held(int unit) {
  const UnitShard range = optimizer_range(unit);
  return {range.begin, range.owned(), master_parameters(unit)};
}

void ZeroEngine::set_unit_parameters(int unit, const float* full_values) {
  const UnitShard range = optimizer_range(unit);
  device_.copy(master_parameters(unit), full_values + range.begin, range.owned() * sizeof(float));
  if (mixed_precision()) {
    backend_.cast_from_float(compute_parameters(unit), master_parameters(unit), range.owned());
  }
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
  const UnitShard& s = shards_[unit];
  if (stage_ == 0) {
    device_.copy(full_values, master_parameters(unit), s.numel * sizeof(float));
    return;
  }
  runtime::DeviceBuffer<float> gathered(device_, s.padded_numel, "parameter download");
  runtime::DeviceBuffer<float> mine(device_, s.shard_numel, "parameter download");
  device_.copy(mine.data(), master_parameters(unit), s.owned() * sizeof(float));
  comm_.all_gather(mine.data(), gathered.data(), s.shard_numel, comm::DataType::kFloat32)->wait();
  device_.copy(full_values, gathered.data(), s.numel * sizeof(float));
}

void ZeroEngine::parameters_loaded() {
  if (mixed_precision()) {
    for (size_t u = 0; u < shards_.size(); ++u) {
      const int unit = static_cast<int>(u);
      backend_.cast_from_float(compute_parameters(unit), master_parameters(unit),
                               optimizer_range(unit).owned());
    }
  }
  for (size_t u = 0; u < shards_.size(); ++u) unit_updated(static_cast<int>(u));
  after_update();
}

void ZeroEngine::begin_step() {
  clear_gradients();
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

void ZeroEngine::optimizer_step(double lr, double grad_scale) {
  ++optimizer_steps_;
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
  std::vector<ops::UpdateSegment> segments;
  for (size_t ui = 0; ui < shards_.size(); ++ui) {
    const int u = static_cast<int>(ui);
    const UnitShard range = optimizer_range(u);
    // Split the range at tensor boundaries: weight decay is per tensor.
    segments.clear();
    for (const auto& tensor : layout_.units[u].tensors) {
      const int64_t lo = std::max(range.begin, tensor.offset);
      const int64_t hi = std::min(range.end, tensor.offset + tensor.numel);
      if (lo >= hi) continue;
      segments.push_back({lo - range.begin, hi - lo, tensor.weight_decay});
    }
    if (!segments.empty()) {
      float* s1 = optimizer_state_.size() > 1 ? optimizer_state_[1][u].data() : nullptr;
      backend_.optimizer_update(
          master_parameters(u), reduced_gradients(u), optimizer_state_[0][u].data(), s1,
          mixed_precision() ? compute_parameters(u) : nullptr, range.owned(), segments, rule);
    }
    unit_updated(u);  // a rank without a range of u still joins u's gather
  }
  after_update();
}

StateRange ZeroEngine::optimizer_state(int unit, int which) {
  const UnitShard range = optimizer_range(unit);
  return {range.begin, range.owned(), optimizer_state_.at(which).at(unit).data()};
}

MemoryAccount ZeroEngine::memory_account() const {
  MemoryAccount account;
  account.model_parameters = layout_.total_numel();
  for (const auto& per_unit : optimizer_state_) {
    for (const auto& buffer : per_unit) account.optimizer_bytes += buffer.bytes();
  }
  // The fp32 masters are part of the optimizer's 12 bytes per parameter (DESIGN.md's theory).
  for (const auto& buffer : master_) account.master_bytes += buffer.bytes();
  account.optimizer_bytes += account.master_bytes;
  return account;
}

}  // namespace zerotune::train
