// Gradients of stages 2 and 3: no rank holds a full-model gradient. The model writes a
// unit's gradient into a unit-sized scratch buffer; when the unit's backward ends, the scratch
// is reduce-scattered into this rank's accumulator (one per unit, shard-sized). The first
// reduction of a step lands in the accumulator directly; later micro-batches of the same step
// land in a shard-sized landing buffer that is then added in, so micro-batches accumulate and
// a step of one micro-batch needs no landing buffer at all (they are made on first use). A
// small pool of scratch buffers lets the reduce-scatter of a unit overlap the backward of the
// next ones; zero.reduce_bucket_size bounds how many gradient elements are in flight.
//
// On one rank the reduce-scatter is the identity: the model writes straight into the
// accumulators (it adds to what a gradient buffer holds, as stage 0 relies on), so stages 2
// and 3 hold no scratch at all and no more gradient bytes than data parallel.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <vector>

#include "gradient_collectives.hpp"
#include "unit_buffer_pool.hpp"
#include "zerotune/comm/communicator.hpp"
#include "zerotune/ops/backend.hpp"
#include "zerotune/runtime/device.hpp"
#include "zerotune/train/shard_layout.hpp"

namespace zerotune::train {

class ShardedGradients {
 public:
  // At most this many units in flight beyond the two the model holds (the embeddings', held
  // through the whole backward as the tied head writes it first and the lookup last, and the
  // current unit's).
  static constexpr int kMaxInFlight = 2;

  // reduce_bucket_size: gradient elements that may be in flight; at least one unit is.
  ShardedGradients(const std::vector<UnitShard>& shards, comm::Communicator& comm,
                   ops::Backend& backend, GradientCollectives& collectives,
                   int64_t reduce_bucket_size);
  // Units in flight that reduce_bucket_size allows: floor(bucket / the second-largest unit),
  // between 1 and kMaxInFlight.
  static int in_flight_units(const std::vector<UnitShard>& shards, int64_t reduce_bucket_size);

  // Whether steps have more than one micro-batch: then the landing buffers are made now, so
  // the start-of-run memory table counts them.
  void expect_accumulation(bool accumulates);
  void clear();              // zero the accumulators (start of a step)
  float* scratch(int unit);  // zeroed unit-sized buffer, the same one until ready(unit)
  // Start the reduce-scatter of the unit's scratch. `last_micro_batch`: this reduction makes
  // the step's gradient of the unit final; on_final_reduction's callback says when it is.
  void ready(int unit, bool last_micro_batch);
  // Called with the unit once its final reduction of the step is in the accumulator (ordered
  // on the compute stream): the offloaded step copies it to the host from there.
  void on_final_reduction(std::function<void(int)> callback) { on_final_ = std::move(callback); }
  void complete_all();  // wait and accumulate everything in flight
  float* accumulated(int unit) { return accumulators_[unit].data(); }
  int64_t accumulator_bytes() const;
  int64_t scratch_bytes() const;

 private:
  struct InFlight {
    int unit;
    int scratch;
    int landing;  // -1: reduced straight into the accumulator
    bool final;   // the step's last reduction of the unit
    comm::RequestPtr request;
  };
  float* landing(int index);
  int take_scratch(int unit);
  void complete_oldest();

  const std::vector<UnitShard>& shards_;
  ops::Backend& backend_;
  GradientCollectives& collectives_;
  bool direct_;  // one rank: the model writes into the accumulators
  runtime::Device& device_;
  std::vector<runtime::DeviceBuffer<float>> accumulators_;  // [unit] shard_numel
  UnitBufferPool scratch_;                                  // unit-sized gradients
  std::vector<runtime::DeviceBuffer<float>> landing_;       // [scratch index] max shard_numel
  int64_t max_shard_numel_ = 0;
  std::vector<bool> reduced_this_step_;  // [unit]
  std::map<int, int> scratch_of_unit_;
  std::deque<InFlight> in_flight_;
  std::function<void(int)> on_final_;
};

}  // namespace zerotune::train
