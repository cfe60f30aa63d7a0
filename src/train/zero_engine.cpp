// What every ZeRO stage shares: optimizer state over this rank's range, the gradient norm
// from shards, and the update loop that splits a range by its tensors' weight decay.
#include "zerotune/train/zero_engine.hpp"

#include <cmath>
#include <stdexcept>

#include "zerotune/train/grad_clip.hpp"

namespace zerotune::train {

std::unique_ptr<ZeroEngine> make_zero_stage0(const model::Gpt2Layout&, const OptimizerSettings&,
                                             comm::Communicator&, runtime::Device&);
std::unique_ptr<ZeroEngine> make_zero_stage1(const model::Gpt2Layout&, const OptimizerSettings&,
                                             comm::Communicator&, runtime::Device&);
std::unique_ptr<ZeroEngine> make_zero_stage2(const model::Gpt2Layout&, const OptimizerSettings&,
                                             comm::Communicator&, runtime::Device&);
std::unique_ptr<ZeroEngine> make_zero_stage3(const model::Gpt2Layout&, const OptimizerSettings&,
                                             comm::Communicator&, runtime::Device&);

std::unique_ptr<ZeroEngine> ZeroEngine::create(int stage, const model::Gpt2Layout& layout,
                                               const OptimizerSettings& optimizer,
                                               comm::Communicator& comm, runtime::Device& device) {
  switch (stage) {
    case 0:
      return make_zero_stage0(layout, optimizer, comm, device);
    case 1:
      return make_zero_stage1(layout, optimizer, comm, device);
    case 2:
      return make_zero_stage2(layout, optimizer, comm, device);
    case 3:
      return make_zero_stage3(layout, optimizer, comm, device);
  }
  throw std::invalid_argument("zero.stage must be 0, 1, 2 or 3");
}

ZeroEngine::ZeroEngine(int stage, const model::Gpt2Layout& layout,
                       const OptimizerSettings& optimizer, comm::Communicator& comm,
                       runtime::Device& device)
    : stage_(stage),
      layout_(layout),
      shards_(make_shards(layout, comm.size(), comm.rank())),
      optimizer_(optimizer),
      comm_(comm),
      device_(device) {
  optimizer_state_.resize(optimizer_state_count());
  for (auto& per_unit : optimizer_state_) {
    for (size_t u = 0; u < shards_.size(); ++u) {
      per_unit.emplace_back(device_, optimizer_range(static_cast<int>(u)).owned());
    }
  }
}

ZeroEngine::~ZeroEngine() = default;

UnitShard ZeroEngine::optimizer_range(int unit) const {
  UnitShard range = shards_[unit];
  if (stage_ == 0) {
    range.begin = 0;
    range.end = range.numel;
  }
  return range;
}

void ZeroEngine::set_unit_parameters(int unit, const float* full_values) {
  StateRange held = parameters_held(unit);
  device_.copy(held.data, full_values + held.begin, held.count * sizeof(float));
}

void ZeroEngine::get_unit_parameters(int unit, float* full_values) {
  const float* gathered = acquire(unit, -1);
  device_.copy(full_values, gathered, shards_[unit].numel * sizeof(float));
  release(unit);
}

void ZeroEngine::begin_step() {
  clear_gradients();
  last_micro_batch_ = true;
}

void ZeroEngine::begin_micro_batch(bool last_in_step) { last_micro_batch_ = last_in_step; }

void ZeroEngine::finish_gradients() { complete_gradient_collectives(); }

double ZeroEngine::global_grad_norm() {
  double sum_squares = 0.0;
  for (size_t u = 0; u < shards_.size(); ++u) {
    const int unit = static_cast<int>(u);
    sum_squares += grad_sum_of_squares(reduced_gradients(unit), optimizer_range(unit).owned());
  }
  // One all-reduce of one number: shards are disjoint, so their squares add up.
  if (!gradients_replicated())
    sum_squares = comm_.all_reduce_value(sum_squares, comm::ReduceOp::kSum);
  return std::sqrt(sum_squares);
}

void ZeroEngine::optimizer_step(double lr, double grad_scale) {
  ++optimizer_steps_;
  for (size_t ui = 0; ui < shards_.size(); ++ui) {
    const int u = static_cast<int>(ui);
    const UnitShard range = optimizer_range(u);
    float* params = master_parameters(u);
    const float* grads = reduced_gradients(u);
    float* s0 = optimizer_state_[0][u].data();
    float* s1 = optimizer_state_.size() > 1 ? optimizer_state_[1][u].data() : nullptr;
    // Split the range at tensor boundaries: weight decay is per tensor.
    for (const auto& tensor : layout_.units[u].tensors) {
      const int64_t lo = std::max(range.begin, tensor.offset);
      const int64_t hi = std::min(range.end, tensor.offset + tensor.numel);
      if (lo >= hi) continue;
      const int64_t at = lo - range.begin;
      optimizer_update(optimizer_, params + at, grads + at, s0 + at, s1 ? s1 + at : nullptr,
                       hi - lo, lr, grad_scale, tensor.weight_decay, optimizer_steps_);
    }
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
  return account;
}

}  // namespace zerotune::train
