// Stage 3: parameters live only as this rank's shard. A unit is all-gathered into a
// unit-sized buffer when the model acquires it, the unit the model names next is gathered
// in the background meanwhile (prefetch; zero.prefetch_bucket_size 0 turns it off), and the
// buffer is freed on release. Units smaller than zero.param_persistence_threshold keep a
// gathered copy, refreshed once per step instead of gathered at every use. Gradients as
// stage 2; the optimizer updates the shard in place. On one rank the shard is the unit: it is
// served as it is, with no gather buffers.
#include <unistd.h>

#include <cstdio>
#include <map>
#include <stdexcept>

#include "offloaded_shards.hpp"
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
             comm::Communicator& comm, ops::Backend& backend, const CommSettings& settings)
      : ZeroEngine(3, layout, optimizer, comm, backend, settings),
        grads_(shards_, comm, backend, *collectives_, settings.reduce_bucket_size),
        direct_(comm.size() == 1),
        gather_(device_, gathered_units(shards_, direct_, settings.param_persistence_threshold),
                direct_ ? 0 : kGatherBuffers, compute_bytes(1), "gathered parameters") {
    for (const auto& s : shards_) {
      shards_params_.emplace_back(device_, compute_bytes(s.shard_numel), "parameter shards");
      const bool persists = !direct_ && s.numel < settings.param_persistence_threshold;
      persistent_.emplace_back(device_, persists ? compute_bytes(s.padded_numel) : 0,
                               "persistent parameters");
    }
    persistent_gather_.resize(shards_.size());
    grads_.on_final_reduction([this](int unit) { gradient_reduced(unit); });
  }

  ~ZeroStage3() override {
    stop_host_update();  // it may be writing the host shards
    try {                // MPI forbids freeing a request in flight (see FullParameters)
      for (auto& r : persistent_gather_) comm::finish(r);
      after_update();
    } catch (...) {
    }
  }

  const void* acquire(int unit, int next_unit) override {
    await_parameters(unit);
    if (direct_) return shards_params_[unit].data();
    if (persistent_[unit].size() > 0) {
      comm::finish(persistent_gather_[unit]);
      return persistent_[unit].data();
    }
    if (offloaded_params_ && offloaded_params_->reads_ahead() && next_unit >= 0) {
      // nvme: read ahead, past the unit the gather prefetches (direction as the model goes).
      const int ahead = next_unit + (next_unit - unit);
      if (ahead >= 0 && ahead < static_cast<int>(shards_.size()) && parameters_current(ahead)) {
        offloaded_params_->prefetch(ahead);
      }
    }
    Gathered& g = start_gather(unit);
    comm::finish(g.request);
    ++g.users;
    // Not a unit whose offloaded update is still running: it is gathered at its own acquire.
    if (next_unit >= 0 && settings_.prefetch_bucket_size > 0 && !gathered_.count(next_unit) &&
        persistent_[next_unit].size() == 0 && parameters_current(next_unit)) {
      try_start_gather(next_unit);  // prefetch: overlaps the compute of `unit`
    }
    return gather_.data(g.buffer);
  }

  void release(int unit) override {
    if (direct_ || persistent_[unit].size() > 0) return;
    auto it = gathered_.find(unit);
    if (it == gathered_.end() || it->second.users == 0) {
      throw std::logic_error("ZeroStage3: release of a unit that is not acquired");
    }
    if (--it->second.users == 0) {
      gather_.give(it->second.buffer);
      gathered_.erase(it);
    }
  }

  std::string offloaded_parameters_location() const override {
    return offloaded_params_ ? offloaded_params_->describe() : "";
  }
  void* gradients(int unit) override { return grads_.scratch(unit); }
  void gradients_ready(int unit) override { grads_.ready(unit, last_micro_batch_); }
  void set_micro_batches_per_step(int64_t n) override { grads_.expect_accumulation(n > 1); }

  MemoryAccount memory_account() const override {
    MemoryAccount a = ZeroEngine::memory_account();
    for (const auto& b : shards_params_) a.parameter_bytes += b.bytes();
    if (offloaded_params_) {
      a.host_parameter_bytes = offloaded_params_->host_bytes();
      a.nvme_parameter_bytes = offloaded_params_->nvme_bytes();
    }
    a.gradient_bytes = grads_.accumulator_bytes();
    a.scratch_bytes = grads_.scratch_bytes() + gather_.bytes();
    if (offloaded_params_) a.scratch_bytes += offloaded_params_->staging_bytes();
    for (const auto& b : persistent_) a.parameter_bytes += b.bytes();
    return a;
  }

 protected:
  void* compute_parameters(int unit) override {
    return offloaded_params_ ? offloaded_params_->host_shard(unit) : shards_params_[unit].data();
  }
  bool compute_parameters_on_host(int unit) const override {
    return offloaded_params_ && offloaded_params_->host_shard(unit) != nullptr;
  }
  void store_offloaded_shard(int unit, const void* data, int64_t size_bytes) override {
    offloaded_params_->write(unit, data, size_bytes);
  }
  void offload_parameters(const OffloadSettings& offload, bool pinned) override {
    if (offload.parameter_tier == StateTier::kNvme) {
      char name[64];
      std::snprintf(name, sizeof(name), "zerotune-params-rank-%05d-pid-%d.swp", comm_.rank(),
                    static_cast<int>(::getpid()));
      offloaded_params_ = make_nvme_shards(device_, shards_params_, kGatherBuffers, pinned,
                                           offload.nvme_path, name, offload.use_io_uring);
    } else {
      offloaded_params_ = make_host_shards(device_, shards_params_, kGatherBuffers, pinned);
    }
    // Shards on the host reach the device through the gather buffers only: every unit is
    // gathered at use (a copy on one rank), none keeps a persistent copy.
    direct_ = false;
    for (auto& p : persistent_) p.reset();
    gather_ =
        UnitBufferPool(device_, shards_, kGatherBuffers, compute_bytes(1), "gathered parameters");
  }
  float* reduced_gradients(int unit) override { return grads_.accumulated(unit); }
  void clear_gradients() override { grads_.clear(); }
  void complete_gradient_collectives() override { grads_.complete_all(); }
  void unit_updated(int unit) override {
    if (persistent_[unit].size() == 0) return;
    comm::finish(persistent_gather_[unit]);
    persistent_gather_[unit] =
        comm_.all_gather(shards_params_[unit].data(), persistent_[unit].data(),
                         shards_[unit].shard_numel, compute_comm_type());
    if (!settings_.overlap_comm) comm::finish(persistent_gather_[unit]);
  }
  void after_update() override {
    // A prefetch issued at the end of the last backward holds stale values: drop it.
    for (auto& [unit, g] : gathered_) {
      comm::finish(g.request);
      gather_.give(g.buffer);
    }
    gathered_.clear();
    if (offloaded_params_)
      offloaded_params_->forget_reads();  // shards read before the update are stale
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
        offloaded_params_ ? offloaded_params_->to_device(unit, b) : shards_params_[unit].data();
    g.request =
        comm_.all_gather(shard, gather_.data(b), shards_[unit].shard_numel, compute_comm_type());
    if (!settings_.overlap_comm) comm::finish(g.request);
    return &g;
  }

  Gathered& start_gather(int unit) {
    if (Gathered* g = try_start_gather(unit)) return *g;
    throw std::logic_error("ZeroStage3: no free gather buffer fits unit " + std::to_string(unit));
  }

  // The units the gather buffers serve: none on one rank, and not the persistent ones.
  static std::vector<UnitShard> gathered_units(const std::vector<UnitShard>& shards, bool direct,
                                               int64_t persistence_threshold) {
    std::vector<UnitShard> units;
    if (direct) return units;
    for (const auto& s : shards) {
      if (s.numel >= persistence_threshold) units.push_back(s);
    }
    return units;
  }

  ShardedGradients grads_;
  bool direct_;
  std::vector<runtime::DeviceBuffer<std::byte>> shards_params_;  // empty when on the host
  std::unique_ptr<OffloadedShards> offloaded_params_;            // zero.offload_param: cpu or nvme
  std::vector<runtime::DeviceBuffer<std::byte>> persistent_;     // [unit] empty unless persistent
  std::vector<comm::RequestPtr> persistent_gather_;              // [unit] in flight
  UnitBufferPool gather_;
  std::map<int, Gathered> gathered_;
};

}  // namespace

std::unique_ptr<ZeroEngine> make_zero_stage3(const model::Gpt2Layout& layout,
                                             const OptimizerSettings& optimizer,
                                             comm::Communicator& comm, ops::Backend& backend,
                                             const CommSettings& settings) {
  return std::make_unique<ZeroStage3>(layout, optimizer, comm, backend, settings);
}

}  // namespace zerotune::train
