// The ZeRO engine: one object per rank that owns parameters, gradients and optimizer state
// as its stage says (DESIGN.md "Stages as DeepSpeed defines them"), serves them to the model
// unit by unit (ParameterSource / GradientSink), and runs the communication and the
// optimizer step. Written once against comm::Communicator and runtime::Device, so the same
// code runs over MPI on CPUs and over NCCL on GPUs.
//
//   stage | parameters      | gradients                          | optimizer state
//   0     | full            | full, all-reduced per unit         | full (every rank updates all)
//   1     | full            | full, reduce-scattered per unit    | own shard; params all-gathered
//   2     | full            | unit scratch, reduce-scattered as  | own shard; params all-gathered
//         |                 | each unit's backward ends          |
//   3     | own shard only; | as stage 2                         | own shard
//         | gathered per use|                                    |
//
// Gradients are SUMMED across ranks: the trainer scales the loss by 1 / (tokens in the
// global batch), so the result equals the single-rank gradient of the same global batch.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "zerotune/comm/communicator.hpp"
#include "zerotune/model/gpt2_layout.hpp"
#include "zerotune/model/unit_access.hpp"
#include "zerotune/runtime/device.hpp"
#include "zerotune/train/optimizer.hpp"
#include "zerotune/train/shard_layout.hpp"

namespace zerotune::train {

// A slice [begin, begin + count) of a unit's global flat array held by this rank at `data`.
struct StateRange {
  int64_t begin = 0;
  int64_t count = 0;
  float* data = nullptr;
};

// Bytes this rank holds, by kind (for the start-of-run memory table).
struct MemoryAccount {
  int64_t parameter_bytes = 0;
  int64_t gradient_bytes = 0;
  int64_t optimizer_bytes = 0;
  int64_t scratch_bytes = 0;  // unit-sized gather / gradient buffers of stages 2 and 3
  int64_t model_parameters = 0;
};

class ZeroEngine : public model::ParameterSource<float>, public model::GradientSink<float> {
 public:
  static std::unique_ptr<ZeroEngine> create(int stage, const model::Gpt2Layout& layout,
                                            const OptimizerSettings& optimizer,
                                            comm::Communicator& comm, runtime::Device& device);
  ~ZeroEngine() override;

  int stage() const { return stage_; }
  const model::Gpt2Layout& layout() const { return layout_; }
  const std::vector<UnitShard>& shards() const { return shards_; }
  const OptimizerSettings& optimizer() const { return optimizer_; }

  // Parameters in: the full values of one unit; this rank keeps what its stage holds.
  void set_unit_parameters(int unit, const float* full_values);
  // Parameters out: the full values of one unit (collective at stage 3).
  void get_unit_parameters(int unit, float* full_values);

  void begin_step();                          // clears the gradient accumulators
  void begin_micro_batch(bool last_in_step);  // the last one triggers the gradient collectives
  void finish_gradients();                    // waits for every gradient collective of the step
  double global_grad_norm();                  // of the reduced gradient, from shards
  // Uses the reduced gradient times grad_scale (clipping), updates this rank's optimizer
  // range, and brings every rank's parameters up to date.
  void optimizer_step(double lr, double grad_scale);
  int64_t optimizer_steps() const { return optimizer_steps_; }
  void set_optimizer_steps(int64_t steps) { optimizer_steps_ = steps; }

  // Checkpoint access, in global element coordinates of each unit's flat array.
  virtual StateRange parameters_held(int unit) = 0;  // stage 0-2: [0, numel); 3: own shard
  StateRange optimizer_state(int unit, int which);   // this rank's optimizer range
  int optimizer_state_count() const { return train::optimizer_state_count(optimizer_.kind); }

  virtual MemoryAccount memory_account() const;

 protected:
  ZeroEngine(int stage, const model::Gpt2Layout& layout, const OptimizerSettings& optimizer,
             comm::Communicator& comm, runtime::Device& device);

  // [begin, end) of the unit this rank updates: everything at stage 0, its shard otherwise.
  UnitShard optimizer_range(int unit) const;
  // Parameters / reduced gradients at the start of optimizer_range(unit).
  virtual float* master_parameters(int unit) = 0;
  virtual float* reduced_gradients(int unit) = 0;
  virtual bool gradients_replicated() const { return false; }  // stage 0: every rank has all
  virtual void clear_gradients() = 0;
  virtual void complete_gradient_collectives() = 0;
  virtual void after_update() = 0;  // e.g. all-gather the updated shards

  int stage_;
  model::Gpt2Layout layout_;
  std::vector<UnitShard> shards_;
  OptimizerSettings optimizer_;
  comm::Communicator& comm_;
  runtime::Device& device_;
  bool last_micro_batch_ = true;
  int64_t optimizer_steps_ = 0;
  // optimizer_state_[which][unit], sized optimizer_range(unit).owned()
  std::vector<std::vector<runtime::DeviceBuffer<float>>> optimizer_state_;
};

}  // namespace zerotune::train
