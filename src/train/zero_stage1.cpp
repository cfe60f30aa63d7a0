// Stage 1: full parameters and gradients, optimizer state for this rank's shard only.
// At the step's last micro-batch each unit's gradient is reduce-scattered as its backward
// ends; each rank updates its shard; the updated shards are all-gathered in place.
#include "full_parameters.hpp"
#include "gradient_collectives.hpp"
#include "zerotune/train/zero_engine.hpp"

namespace zerotune::train {

namespace {

class ZeroStage1 : public ZeroEngine {
 public:
  ZeroStage1(const model::Gpt2Layout& layout, const OptimizerSettings& optimizer,
             comm::Communicator& comm, ops::Backend& backend, const CommSettings& settings)
      : ZeroEngine(1, layout, optimizer, comm, backend, settings),
        params_(shards_, comm, device_, compute_comm_type(), settings.overlap_comm) {
    for (const auto& s : shards_) {
      grads_.emplace_back(device_, s.padded_numel, "gradients");
      grad_shards_.emplace_back(device_, s.shard_numel, "gradient shards");
    }
  }

  const void* acquire(int unit, int) override {
    await_parameters(unit);
    return params_.full(unit);
  }
  void release(int) override {}
  void* gradients(int unit) override { return grads_[unit].data(); }
  void gradients_ready(int unit) override {
    if (!last_micro_batch_) return;
    pending_.push_back(collectives_->reduce_scatter(grads_[unit].data(), grad_shards_[unit].data(),
                                                    shards_[unit].shard_numel));
  }

  MemoryAccount memory_account() const override {
    MemoryAccount a = ZeroEngine::memory_account();
    a.parameter_bytes = params_.bytes();
    for (const auto& b : grads_) a.gradient_bytes += b.bytes();
    for (const auto& b : grad_shards_) a.gradient_bytes += b.bytes();
    return a;
  }

 protected:
  void* compute_parameters(int unit) override { return params_.shard(unit); }
  float* reduced_gradients(int unit) override { return grad_shards_[unit].data(); }
  void clear_gradients() override {
    for (auto& g : grads_) g.zero();
  }
  void complete_gradient_collectives() override { comm::wait_all(pending_); }
  void unit_updated(int unit) override { params_.start_gather(unit); }
  void after_update() override {}

 private:
  FullParameters params_;
  std::vector<runtime::DeviceBuffer<float>> grads_;
  std::vector<runtime::DeviceBuffer<float>> grad_shards_;
  std::vector<comm::RequestPtr> pending_;
};

}  // namespace

std::unique_ptr<ZeroEngine> make_zero_stage1(const model::Gpt2Layout& layout,
                                             const OptimizerSettings& optimizer,
                                             comm::Communicator& comm, ops::Backend& backend,
                                             const CommSettings& settings) {
  return std::make_unique<ZeroStage1>(layout, optimizer, comm, backend, settings);
}

}  // namespace zerotune::train
