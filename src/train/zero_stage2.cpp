// Stage 2: full parameters; gradients never held whole (see sharded_gradients.hpp): each
// unit's gradient is reduce-scattered as soon as its backward ends, in every micro-batch;
// each rank updates its shard; updated shards are all-gathered in place.
#include "full_parameters.hpp"
#include "sharded_gradients.hpp"
#include "zerotune/train/zero_engine.hpp"

namespace zerotune::train {

namespace {

class ZeroStage2 : public ZeroEngine {
 public:
  ZeroStage2(const model::Gpt2Layout& layout, const OptimizerSettings& optimizer,
             comm::Communicator& comm, ops::Backend& backend, const CommSettings& settings)
      : ZeroEngine(2, layout, optimizer, comm, backend, settings),
        params_(shards_, comm, device_, compute_comm_type(), settings.overlap_comm),
        grads_(shards_, comm, backend, *collectives_, settings.reduce_bucket_size) {
    grads_.on_final_reduction([this](int unit) { gradient_reduced(unit); });
  }

  const void* acquire(int unit, int) override {
    await_parameters(unit);
    return params_.full(unit);
  }
  void release(int) override {}
  void* gradients(int unit) override { return grads_.scratch(unit); }
  void gradients_ready(int unit) override { grads_.ready(unit, last_micro_batch_); }
  void set_micro_batches_per_step(int64_t n) override { grads_.expect_accumulation(n > 1); }

  MemoryAccount memory_account() const override {
    MemoryAccount a = ZeroEngine::memory_account();
    a.parameter_bytes = params_.bytes();
    a.gradient_bytes = grads_.accumulator_bytes();
    a.scratch_bytes = grads_.scratch_bytes();
    return a;
  }

 protected:
  void* compute_parameters(int unit) override { return params_.shard(unit); }
  float* reduced_gradients(int unit) override { return grads_.accumulated(unit); }
  void clear_gradients() override { grads_.clear(); }
  void complete_gradient_collectives() override { grads_.complete_all(); }
  void unit_updated(int unit) override { params_.start_gather(unit); }
  void after_update() override {}

 private:
  FullParameters params_;
  ShardedGradients grads_;
};

}  // namespace

std::unique_ptr<ZeroEngine> make_zero_stage2(const model::Gpt2Layout& layout,
                                             const OptimizerSettings& optimizer,
                                             comm::Communicator& comm, ops::Backend& backend,
                                             const CommSettings& settings) {
  return std::make_unique<ZeroStage2>(layout, optimizer, comm, backend, settings);
}

}  // namespace zerotune::train
