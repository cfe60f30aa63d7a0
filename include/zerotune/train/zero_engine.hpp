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
//
// Mixed precision (DESIGN.md "Mixed precision lives in the engine"): the model reads
// parameters in the backend's compute dtype; the engine keeps them in that dtype (full at
// stages 0-2, the shard at stage 3) and, when the compute dtype is not fp32, fp32 master
// weights over the range this rank updates (full at stage 0, the shard otherwise). Gradients
// and optimizer state are fp32. The optimizer writes the master and the compute copy in one
// pass; stages 1 and 2 then all-gather the compute copy (bf16: half the bytes of fp32). In
// fp32 the master IS the compute copy.
//
// Offload (DESIGN.md "Offload tiers"): with zero.offload_optimizer cpu or nvme the masters and
// optimizer state live in an OptimizerStateStore off the device and the device holds none of
// them. Each unit's reduced gradient shard is copied to the host on the copy stream as soon as
// the backward has it final; optimizer_step then returns at once while a background thread
// updates unit after unit with a threaded AdamW, and the next forward waits, unit by unit, only
// for the units it reaches (their new compute-dtype values are copied up as each is done), so
// the host update overlaps the next forward (offloaded_step.cpp).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <vector>

#include "zerotune/comm/communicator.hpp"
#include "zerotune/config/run_config.hpp"
#include "zerotune/model/gpt2_layout.hpp"
#include "zerotune/model/unit_access.hpp"
#include "zerotune/ops/backend.hpp"
#include "zerotune/runtime/device.hpp"
#include "zerotune/train/host_thread_pool.hpp"
#include "zerotune/train/in_order_worker.hpp"
#include "zerotune/train/optimizer.hpp"
#include "zerotune/train/optimizer_state_store.hpp"
#include "zerotune/train/shard_layout.hpp"

namespace zerotune::train {

// A slice [begin, begin + count) of a unit's global flat array held by this rank at `data`.
struct StateRange {
  int64_t begin = 0;
  int64_t count = 0;
  float* data = nullptr;
  bool in_host_memory = false;  // else device memory: copy through the host to read or write
};

// One unit's checkpointed arrays on this rank: the fp32 masters and the optimizer states.
struct UnitStateRanges {
  StateRange params;
  std::vector<StateRange> states;  // optimizer_state_count() of them
};

// Where the optimizer state lives and how the host side of an offloaded step runs.
struct OffloadSettings {
  StateTier optimizer_tier = StateTier::kDevice;  // zero.offload_optimizer
  bool pin_memory = true;                         // zero.pin_memory
  std::filesystem::path nvme_path;                // zero.nvme_path
  StateTier parameter_tier = StateTier::kDevice;  // zero.offload_param (stage 3): cpu, nvme
  // zero.offload_optimizer_ratio: the fraction of the parameters whose state is offloaded;
  // the first units' state, the rest, stays on the device (units_kept_on_device).
  double optimizer_ratio = 1.0;
  int cpu_threads = 1;       // host AdamW threads
  bool use_io_uring = true;  // false: the nvme tier's pread/pwrite path
};

// The optimizer state store the engine makes for this offload choice (the nvme file's name
// aside): the tier, the optimizer's state arrays, and the fp32 masters apart from the compute
// copy in mixed precision and always off the device (the device holds only the compute copy).
StateStoreSettings state_store_settings(const OffloadSettings& offload, DType compute_dtype,
                                        OptimizerKind optimizer, const model::Gpt2Layout& layout);

// A partial offload keeps the state of units [0, k) on the device: the largest k whose units
// hold at most (1 - ratio) of the model's parameters (the same k on every rank). The first
// units, because the next forward starts with them while the host updates the others.
int units_kept_on_device(const model::Gpt2Layout& layout, double ratio);

// How the engine schedules its collectives: DeepSpeed's zero_optimization knobs, with the
// meaning they have in this unit-by-unit engine (docs/config-reference.md, zero.*).
struct CommSettings {
  bool overlap_comm = true;  // false: every collective is waited for as it is issued
  // Stages 2 and 3: gradient elements whose reduction may be in flight (at least one unit).
  int64_t reduce_bucket_size = 500000000;
  // Stage 3: 0 turns off gathering the next unit while the current one computes.
  int64_t prefetch_bucket_size = 50000000;
  // Stage 3: units with fewer elements stay gathered between steps.
  int64_t param_persistence_threshold = 100000;
  DType reduce_dtype = DType::kFloat32;  // fp32 or the compute dtype
};

// From the config's zero section.
CommSettings comm_settings(const config::ZeroConfig& zero);
// The offload choice of the config's zero section (tiers, ratio, nvme_path, pin_memory);
// cpu_threads stays 1: the trainer sets it from the topology.
OffloadSettings offload_settings(const config::ZeroConfig& zero);

class GradientCollectives;

// The offloaded step's timing since the last take_offload_times(), in seconds.
struct OffloadTimes {
  double update_s = 0;  // the host update's wall time (the last one that finished)
  double wait_s = 0;    // how long the compute side waited for updates
};

// Bytes this rank holds, by kind (for the start-of-run memory table).
struct MemoryAccount {
  int64_t parameter_bytes = 0;
  int64_t gradient_bytes = 0;
  int64_t optimizer_bytes = 0;
  int64_t scratch_bytes = 0;  // unit-sized gather / gradient buffers of stages 2 and 3
  int64_t master_bytes = 0;   // fp32 master weights apart from the compute copy (mixed precision)
  int64_t model_parameters = 0;
  // Offload: what lives off the device (host: the state, or nvme's slots, and the staging).
  int64_t host_optimizer_bytes = 0;
  int64_t nvme_optimizer_bytes = 0;
  int64_t host_parameter_bytes = 0;  // stage 3's shards with zero.offload_param: cpu (nvme: slots)
  int64_t nvme_parameter_bytes = 0;  // stage 3's shards with zero.offload_param: nvme
};

class ZeroEngine : public model::ParameterSource<void>, public model::GradientSink<void> {
 public:
  // Buffers on backend.device(); parameters served in backend.compute_dtype(); optimizer
  // state where `offload` says (stage >= 1 for an offload tier). Throws LibraryError when the
  // nvme file cannot be created.
  static std::unique_ptr<ZeroEngine> create(int stage, const model::Gpt2Layout& layout,
                                            const OptimizerSettings& optimizer,
                                            comm::Communicator& comm, ops::Backend& backend,
                                            const CommSettings& settings = {},
                                            const OffloadSettings& offload = {});
  ~ZeroEngine() override;

  int stage() const { return stage_; }
  runtime::Device& device() { return device_; }
  const model::Gpt2Layout& layout() const { return layout_; }
  const std::vector<UnitShard>& shards() const { return shards_; }
  const OptimizerSettings& optimizer() const { return optimizer_; }

  DType compute_dtype() const { return backend_.compute_dtype(); }
  bool mixed_precision() const { return compute_dtype() != DType::kFloat32; }

  // Parameters in: the full fp32 values of one unit (host memory); this rank keeps what its
  // stage holds, master and compute copy.
  void set_unit_parameters(int unit, const float* full_values);
  // Parameters out: the full fp32 master values of one unit into host memory (collective at
  // stages 1-3: the masters are sharded).
  void get_unit_parameters(int unit, float* full_values);
  // After acquire_unit_state() ranges were written (checkpoint load): rebuild the compute
  // copies from the masters (collective at stages 1 and 2).
  void parameters_loaded();

  // Micro-batches each step accumulates (gradient accumulation steps): stages 2 and 3 make
  // their landing buffers only when this is above 1.
  virtual void set_micro_batches_per_step(int64_t) {}
  void begin_step();                          // clears the gradient accumulators
  void begin_micro_batch(bool last_in_step);  // the last one triggers the gradient collectives
  void finish_gradients();                    // waits for every gradient collective of the step
  double global_grad_norm();                  // of the reduced gradient, from shards
  // Uses the reduced gradient times grad_scale (clipping), updates this rank's optimizer
  // range, and brings every rank's parameters up to date. Offloaded: returns once the update
  // has started; the parameters are up to date where anything reads them (acquire, the
  // checkpoint and parameter accessors below).
  void optimizer_step(double lr, double grad_scale);
  int64_t optimizer_steps() const { return optimizer_steps_; }
  void set_optimizer_steps(int64_t steps) { optimizer_steps_ = steps; }

  // Checkpoint access, in global element coordinates of each unit's flat array: the fp32
  // masters this rank updates (stage 0: [0, numel); else its shard) and the optimizer states
  // over the same range, in device memory or (offload tiers) host memory, as each range says.
  // Valid until release_unit_state(unit, modified); `modified` after writing them (a load).
  // One unit at a time.
  UnitStateRanges acquire_unit_state(int unit);
  void release_unit_state(int unit, bool modified);
  int optimizer_state_count() const { return train::optimizer_state_count(optimizer_.kind); }
  StateTier optimizer_tier() const { return store_->tier(); }
  OffloadTimes take_offload_times() {
    const OffloadTimes t = offload_times_;
    offload_times_ = {};
    return t;
  }
  // For the .out: where stage 3's offloaded parameter shards live ("" when on the device).
  virtual std::string offloaded_parameters_location() const { return ""; }
  // One line for the .out: where the optimizer state lives.
  std::string optimizer_state_location() const { return store_->describe(); }

  virtual MemoryAccount memory_account() const;

 protected:
  ZeroEngine(int stage, const model::Gpt2Layout& layout, const OptimizerSettings& optimizer,
             comm::Communicator& comm, ops::Backend& backend, const CommSettings& settings);

  // [begin, end) of the unit this rank updates: everything at stage 0, its shard otherwise.
  UnitShard optimizer_range(int unit) const;
  // The compute-dtype parameters at the start of optimizer_range(unit), where the update
  // writes them; the fp32 masters are there too in fp32 runs, else in master_.
  virtual void* compute_parameters(int unit) = 0;
  virtual float* reduced_gradients(int unit) = 0;
  // store_->acquire(unit), with the compute copy as the master where it is one (device
  // tier in fp32). Pair with store_->release(unit, modified).
  UnitState acquire_state(int unit);
  comm::DataType compute_comm_type() const;
  int64_t compute_bytes(int64_t elements) const {
    return elements * static_cast<int64_t>(dtype_bytes(compute_dtype()));
  }
  virtual bool gradients_replicated() const { return false; }  // stage 0: every rank has all
  virtual void clear_gradients() = 0;
  virtual void complete_gradient_collectives() = 0;
  // After the compute copy of one unit's optimizer range changed (as a step goes through the
  // units, or a checkpoint load): stages 1 and 2 start all-gathering that unit's shards, so
  // the gather overlaps the update of the next units and the next forward waits only for
  // what it uses; stage 3 refreshes its persistent copies.
  virtual void unit_updated(int /*unit*/) {}
  // When the parameters change (after the device update, before an offloaded one starts):
  // drop what depended on the old values (stage 3's prefetch, nvme shard copies).
  virtual void after_update() = 0;
  // zero.offload_param (stage 3 only, with the optimizer offloaded): the compute-dtype
  // parameter shards move to host memory (cpu; page-locked when `pinned`) or a file under
  // offload.nvme_path (nvme), and each gather first copies its shard to the device.
  // compute_parameters() then points at the host shard, or is nullptr on nvme.
  virtual void offload_parameters(const OffloadSettings& /*offload*/, bool /*pinned*/) {
    throw std::invalid_argument("zero.offload_param needs zero.stage 3");
  }
  // With offloaded parameters: whether the unit's shard has a host address (cpu; nvme: no).
  virtual bool compute_parameters_on_host(int /*unit*/) const { return false; }
  // With offloaded parameters: stores the unit's new compute-dtype values of
  // optimizer_range(unit) (`size_bytes` of host memory at `data`), from the offloaded update's
  // thread or a checkpoint load.
  virtual void store_offloaded_shard(int /*unit*/, const void* /*data*/, int64_t /*size_bytes*/) {}
  // Creates the optimizer state store; create() calls it once the stage's buffers exist.
  void allocate_optimizer_state(const OffloadSettings& offload);
  ops::UpdateRule update_rule(double lr, double grad_scale) const;
  // The range's runs of equal weight decay, relative to optimizer_range(unit).begin.
  std::vector<ops::UpdateSegment> update_segments(int unit) const;
  // The compute-dtype copy of `count` host masters into compute_parameters(unit).
  void upload_compute_copy(int unit, const float* host_master, int64_t count);
  bool offloaded() const { return store_ && !store_->in_device_memory(); }
  // Offload: a stage calls this once the step's reduced gradient of `unit` is final on the
  // compute stream; it starts the copy to the host (the last micro-batch only).
  void gradient_reduced(int unit);
  // Offload: before anything reads the unit's compute parameters (the model, or a gather of
  // the shard): waits until the host update of every unit up to it is done, then orders their
  // uploads and unit_updated() before the compute stream's next work. No-op otherwise.
  void await_parameters(int unit) { settle_updates(unit, true); }
  // Without waiting: true once the unit's update is done and its new values are ordered before
  // the compute stream's next work (a prefetch may gather it); false while it still runs.
  // Issues the uploads of finished units, never a collective (its answer depends on timing).
  bool parameters_current(int unit) { return settle_updates(unit, false); }
  // Waits for the whole offloaded update and settles every unit (before writing parameters;
  // collective at stages 1-3 through unit_updated, so only where every rank calls it).
  void finish_offloaded_step() { settle_updates(static_cast<int>(shards_.size()) - 1, true); }
  // Waits for the host update's thread only (before reading the masters or the optimizer
  // state): no collective, so a rank may call it on its own; the uploads and unit_updated stay
  // with the next await_parameters.
  void join_host_update() { host_update_.finish(); }
  // For destructors of stages whose buffers the host update writes: waits, never throws.
  void stop_host_update() noexcept;

  int stage_;
  CommSettings settings_;
  model::Gpt2Layout layout_;
  std::vector<UnitShard> shards_;
  OptimizerSettings optimizer_;
  comm::Communicator& comm_;
  ops::Backend& backend_;
  runtime::Device& device_;
  std::unique_ptr<GradientCollectives> collectives_;  // every stage's gradient reductions
  bool last_micro_batch_ = true;
  int64_t optimizer_steps_ = 0;
  // Masters (mixed precision or offload) and optimizer states over optimizer_range(unit).
  std::unique_ptr<OptimizerStateStore> store_;
  // The offloaded step's host side (offloaded_step.cpp): AdamW threads; per unit the reduced
  // gradient shard (fp32) copied down during the backward and the updated compute-dtype
  // values the next forward copies up (none with offloaded parameters: the update writes the
  // host shards, or the file through one buffer); the background run, last so it stops first.
  std::unique_ptr<HostThreadPool> host_pool_;
  std::vector<runtime::HostBuffer<float>> host_gradients_;
  std::vector<runtime::HostBuffer<std::byte>> host_parameters_;
  std::vector<bool> gradient_copied_;       // [unit] this step's download was issued
  uint64_t last_gradient_copy_ = 0;         // ticket of the step's latest download
  std::vector<uint64_t> parameter_upload_;  // [unit] ticket of its upload
  bool parameters_offloaded_ = false;       // zero.offload_param: cpu or nvme
  int units_on_device_ = 0;  // a partial offload's first units, updated on the device
  // nvme: the update's compute-dtype output of one unit, on its way to the file.
  runtime::HostBuffer<std::byte> parameter_write_buffer_;
  int uploads_issued_ = 0;     // units whose upload is queued, in order
  int units_settled_ = 0;      // units whose new values the compute stream sees
  double update_seconds_ = 0;  // written by the background run, read after it is joined
  OffloadTimes offload_times_;
  InOrderWorker host_update_;

 private:
  void update_on_device(int unit, const ops::UpdateRule& rule);
  void start_offloaded_step(const ops::UpdateRule& rule);
  void update_unit_on_host(int unit, const ops::UpdateRule& rule, void* compute_copy);
  bool settle_updates(int unit, bool block);
};

}  // namespace zerotune::train
