#include "sharded_gradients.hpp"

#include <algorithm>
#include <stdexcept>

namespace zerotune::train {

int ShardedGradients::in_flight_units(const std::vector<UnitShard>& shards,
                                      int64_t reduce_bucket_size) {
  std::vector<int64_t> sizes;
  for (const auto& s : shards) sizes.push_back(s.padded_numel);
  std::sort(sizes.begin(), sizes.end(), std::greater<>());
  const int64_t unit = sizes.size() > 1 ? sizes[1] : (sizes.empty() ? 1 : sizes[0]);
  return static_cast<int>(
      std::clamp<int64_t>(reduce_bucket_size / std::max<int64_t>(unit, 1), 1, kMaxInFlight));
}

ShardedGradients::ShardedGradients(const std::vector<UnitShard>& shards, comm::Communicator& comm,
                                   ops::Backend& backend, GradientCollectives& collectives,
                                   int64_t reduce_bucket_size)
    : shards_(shards),
      backend_(backend),
      collectives_(collectives),
      direct_(comm.size() == 1),
      device_(backend.device()),
      scratch_(device_, shards, direct_ ? 0 : 2 + in_flight_units(shards, reduce_bucket_size),
               sizeof(float), "gradient scratch") {
  for (const auto& s : shards_) {
    accumulators_.emplace_back(device_, s.shard_numel, "gradient shards");
    max_shard_numel_ = std::max(max_shard_numel_, s.shard_numel);
  }
  landing_.resize(scratch_.count());
  reduced_this_step_.assign(shards_.size(), false);
}

void ShardedGradients::expect_accumulation(bool accumulates) {
  if (!accumulates) return;
  for (int i = 0; i < scratch_.count(); ++i) landing(i);
}

float* ShardedGradients::landing(int index) {
  if (landing_[index].size() == 0) {
    landing_[index] = runtime::DeviceBuffer<float>(device_, max_shard_numel_, "gradient landing");
  }
  return landing_[index].data();
}

void ShardedGradients::clear() {
  complete_all();
  for (auto& a : accumulators_) a.zero();
  reduced_this_step_.assign(shards_.size(), false);
}

int ShardedGradients::take_scratch(int unit) {
  while (true) {
    const int i = scratch_.take(shards_[unit].padded_numel);
    if (i >= 0) return i;
    if (in_flight_.empty()) {
      throw std::logic_error("ShardedGradients: every scratch buffer is held by the model");
    }
    complete_oldest();
  }
}

float* ShardedGradients::scratch(int unit) {
  if (direct_) return accumulators_[unit].data();  // shard == unit: nothing to reduce
  auto it = scratch_of_unit_.find(unit);
  if (it != scratch_of_unit_.end()) return static_cast<float*>(scratch_.data(it->second));
  const int i = take_scratch(unit);
  // Only the unit's padded extent is used; its padding stays zero for the reduce-scatter.
  device_.fill_zero(scratch_.data(i), shards_[unit].padded_numel * sizeof(float));
  scratch_of_unit_[unit] = i;
  return static_cast<float*>(scratch_.data(i));
}

void ShardedGradients::ready(int unit, bool last_micro_batch) {
  if (direct_) {
    if (last_micro_batch && on_final_) on_final_(unit);
    return;
  }
  auto it = scratch_of_unit_.find(unit);
  if (it == scratch_of_unit_.end()) return;  // the unit got no gradient in this backward
  const int s = it->second;
  scratch_of_unit_.erase(it);
  // The step's first reduction of the unit overwrites its (zeroed) accumulator; later ones
  // land apart and are added (one landing buffer per scratch buffer).
  const int landing_index = reduced_this_step_[unit] ? s : -1;
  reduced_this_step_[unit] = true;
  float* into = landing_index < 0 ? accumulators_[unit].data() : landing(landing_index);
  in_flight_.push_back({unit, s, landing_index, last_micro_batch,
                        collectives_.reduce_scatter(static_cast<const float*>(scratch_.data(s)),
                                                    into, shards_[unit].shard_numel)});
}

void ShardedGradients::complete_oldest() {
  InFlight f = std::move(in_flight_.front());
  in_flight_.pop_front();
  f.request->wait();
  if (f.landing >= 0) {
    backend_.accumulate(accumulators_[f.unit].data(), landing_[f.landing].data(),
                        shards_[f.unit].shard_numel);
  }
  scratch_.give(f.scratch);
  if (f.final && on_final_) on_final_(f.unit);
}

void ShardedGradients::complete_all() {
  while (!in_flight_.empty()) complete_oldest();
}

int64_t ShardedGradients::accumulator_bytes() const {
  int64_t b = 0;
  for (const auto& a : accumulators_) b += a.bytes();
  return b;
}

int64_t ShardedGradients::scratch_bytes() const {
  int64_t b = scratch_.bytes();
  for (const auto& l : landing_) b += l.bytes();
  return b;
}

}  // namespace zerotune::train
