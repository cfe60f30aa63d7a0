// Stage 3: parameters live only as this rank's shard. A unit is all-gathered into a
// unit-sized buffer when the model acquires it, the unit the model names next is gathered
// in the background meanwhile (prefetch), and the buffer is freed on release. Gradients as
// stage 2; the optimizer updates the shard in place, so nothing is gathered after a step.
#include <map>
#include <stdexcept>

#include "host_shards.hpp"
#include "sharded_gradients.hpp"
#include "unit_buffer_pool.hpp"
#include "zerotune/train/zero_engine.hpp"

namespace zerotune::train {

namespace {

class ZeroStage3 : public ZeroEngine {
 public:
  // The unit in use, the prefetched next one, and one spare; one of them embeddings-sized.
  static constexpr int kGatherBuffers = 3;

  ZeroStage3(const model::Gpt2Layout& layout, const OptimizerSettings& optimizer,
             comm::Communicator& comm, ops::Backend& backend)
      : ZeroEngine(3, layout, optimizer, comm, backend),
        grads_(shards_, comm, backend),
        gather_(device_, shards_, kGatherBuffers, compute_bytes(1), "gathered parameters") {
    for (const auto& s : shards_) {
      shards_params_.emplace_back(device_, compute_bytes(s.shard_numel), "parameter shards");
    }
  }

  const void* acquire(int unit, int next_unit) override {
    Gathered& g = start_gather(unit);
    if (g.request) {
      g.request->wait();
      g.request.reset();
    }
    ++g.users;
    if (next_unit >= 0 && !gathered_.count(next_unit)) {
      try_start_gather(next_unit);  // prefetch: overlaps the compute of `unit`
    }
    return gather_.data(g.buffer);
  }

  void release(int unit) override {
    auto it = gathered_.find(unit);
    if (it == gathered_.end() || it->second.users == 0) {
      throw std::logic_error("ZeroStage3: release of a unit that is not acquired");
    }
    if (--it->second.users == 0) {
      gather_.give(it->second.buffer);
      gathered_.erase(it);
    }
  }

  void* gradients(int unit) override { return grads_.scratch(unit); }
  void gradients_ready(int unit) override { grads_.ready(unit); }
  void set_micro_batches_per_step(int64_t n) override { grads_.expect_accumulation(n > 1); }

  MemoryAccount memory_account() const override {
    MemoryAccount a = ZeroEngine::memory_account();
    for (const auto& b : shards_params_) a.parameter_bytes += b.bytes();
    for (const auto& b : host_params_.shards) a.host_parameter_bytes += b.bytes();
    for (const auto& b : host_params_.staging) a.scratch_bytes += b.bytes();
    a.gradient_bytes = grads_.accumulator_bytes();
    a.scratch_bytes = grads_.scratch_bytes();
    a.scratch_bytes += gather_.bytes();
    return a;
  }

 protected:
  void* compute_parameters(int unit) override {
    return host_params_.shards.empty() ? shards_params_[unit].data()
                                       : host_params_.shards[unit].data();
  }
  void offload_parameters(bool pinned) override {
    host_params_ = HostShards(device_, shards_params_, kGatherBuffers, pinned);
    shards_params_.clear();
  }
  float* reduced_gradients(int unit) override { return grads_.accumulated(unit); }
  void clear_gradients() override { grads_.clear(); }
  void complete_gradient_collectives() override { grads_.complete_all(); }
  void after_update() override {
    // A prefetch issued at the end of the last backward holds stale values: drop it.
    for (auto& [unit, g] : gathered_) {
      if (g.request) g.request->wait();
      gather_.give(g.buffer);
    }
    gathered_.clear();
  }

 private:
  struct Gathered {
    int buffer = -1;
    int users = 0;
    comm::RequestPtr request;  // set while the all-gather is in flight
  };

  // Starts gathering `unit` if a buffer fits it; nullptr if none is free.
  Gathered* try_start_gather(int unit) {
    auto it = gathered_.find(unit);
    if (it != gathered_.end()) return &it->second;
    const int b = gather_.take(shards_[unit].padded_numel);
    if (b < 0) return nullptr;
    Gathered& g = gathered_[unit];
    g.buffer = b;
    const void* shard =
        host_params_.shards.empty() ? shards_params_[unit].data() : host_params_.to_device(unit, b);
    g.request =
        comm_.all_gather(shard, gather_.data(b), shards_[unit].shard_numel, compute_comm_type());
    return &g;
  }

  Gathered& start_gather(int unit) {
    if (Gathered* g = try_start_gather(unit)) return *g;
    throw std::logic_error("ZeroStage3: no free gather buffer fits unit " + std::to_string(unit));
  }

  ShardedGradients grads_;
  std::vector<runtime::DeviceBuffer<std::byte>> shards_params_;  // empty when on the host
  HostShards host_params_;
  UnitBufferPool gather_;
  std::map<int, Gathered> gathered_;
};

}  // namespace

std::unique_ptr<ZeroEngine> make_zero_stage3(const model::Gpt2Layout& layout,
                                             const OptimizerSettings& optimizer,
                                             comm::Communicator& comm, ops::Backend& backend) {
  return std::make_unique<ZeroStage3>(layout, optimizer, comm, backend);
}

}  // namespace zerotune::train
