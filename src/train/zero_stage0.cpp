// Stage 0, data parallel: full parameters, gradients and optimizer state on every rank.
// Each unit's gradient all-reduce starts as soon as that unit's backward of the step's last
// micro-batch ends, overlapping the backward of the units before it.
#include "gradient_collectives.hpp"
#include "zerotune/train/zero_engine.hpp"

namespace zerotune::train {

namespace {

class ZeroStage0 : public ZeroEngine {
 public:
  ZeroStage0(const model::Gpt2Layout& layout, const OptimizerSettings& optimizer,
             comm::Communicator& comm, ops::Backend& backend, const CommSettings& settings)
      : ZeroEngine(0, layout, optimizer, comm, backend, settings) {
    for (const auto& s : shards_) {
      params_.emplace_back(device_, compute_bytes(s.numel), "parameters");
      grads_.emplace_back(device_, s.numel, "gradients");
    }
  }

  const void* acquire(int unit, int) override { return params_[unit].data(); }
  void release(int) override {}
  void* gradients(int unit) override { return grads_[unit].data(); }
  void gradients_ready(int unit) override {
    if (!last_micro_batch_) return;  // accumulate locally; communicate once per step
    pending_.push_back(collectives_->all_reduce(grads_[unit].data(), grads_[unit].size()));
  }

  MemoryAccount memory_account() const override {
    MemoryAccount a = ZeroEngine::memory_account();
    for (const auto& b : params_) a.parameter_bytes += b.bytes();
    for (const auto& b : grads_) a.gradient_bytes += b.bytes();
    return a;
  }

 protected:
  void* compute_parameters(int unit) override { return params_[unit].data(); }
  float* reduced_gradients(int unit) override { return grads_[unit].data(); }
  bool gradients_replicated() const override { return true; }
  void clear_gradients() override {
    for (auto& g : grads_) g.zero();
  }
  void complete_gradient_collectives() override { comm::wait_all(pending_); }
  void after_update() override {}

 private:
  std::vector<runtime::DeviceBuffer<std::byte>> params_;
  std::vector<runtime::DeviceBuffer<float>> grads_;
  std::vector<comm::RequestPtr> pending_;
};

}  // namespace

std::unique_ptr<ZeroEngine> make_zero_stage0(const model::Gpt2Layout& layout,
                                             const OptimizerSettings& optimizer,
                                             comm::Communicator& comm, ops::Backend& backend,
                                             const CommSettings& settings) {
  return std::make_unique<ZeroStage0>(layout, optimizer, comm, backend, settings);
}

}  // namespace zerotune::train
