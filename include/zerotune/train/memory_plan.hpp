// The table of `zerotune estimate`: for each ZeRO stage 0-3 and offload choice (stages 1-3:
// the optimizer state on the device, in host memory or on NVMe; stage 3 with its parameter
// shards in host memory too where the config asks for that), the bytes per rank (rank 0, which
// holds the largest shards) of parameters, gradients, optimizer state, communication and gather
// buffers, activations of the micro batch with and without activation checkpointing, and a
// fragmentation margin; whether that fits a GPU's memory and the largest micro batch that
// would; the host memory and NVMe file the offload needs, and whether the host has that
// memory. Sizes from memory_estimate.hpp.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "zerotune/base/dtype.hpp"
#include "zerotune/model/gpt2_layout.hpp"
#include "zerotune/train/optimizer.hpp"
#include "zerotune/train/optimizer_state_store.hpp"
#include "zerotune/train/zero_engine.hpp"

namespace zerotune::train {

// Added on top of everything the device holds: the allocator's rounding and fragmentation.
inline constexpr double kFragmentationMargin = 0.10;

struct MemoryPlanInput {
  model::Gpt2Shape shape;
  int world = 1;
  DType compute_dtype = DType::kFloat32;
  OptimizerKind optimizer = OptimizerKind::kAdamW;
  int64_t micro_batch = 1;
  int64_t micro_batches_per_step = 1;  // gradient accumulation steps
  int64_t tokens = 0;                  // per row; 0: shape.seq_len
  bool gpu = false;                    // size activations as the GPU backend does (else the CPU's)
  int64_t device_memory_bytes = 0;     // 0: unknown (no verdicts)
  int64_t host_memory_bytes = 0;       // per rank; 0: unknown (no host verdicts)
  CommSettings comm;                   // the zero section's collective settings
  // The config's zero.offload_param cpu or nvme (stage 3): adds the row of that choice, with
  // the optimizer state where offload_param_tier says.
  StateTier offload_param = StateTier::kDevice;
  StateTier offload_param_tier = StateTier::kCpu;
  // zero.offload_optimizer_ratio, for every offloading row.
  double offload_optimizer_ratio = 1.0;
};

struct MemoryPlanRow {
  int stage = 0;
  StateTier offload = StateTier::kDevice;        // where the optimizer state and fp32 masters live
  StateTier offload_param = StateTier::kDevice;  // stage 3's parameter shards: cpu, nvme
  int64_t parameter_bytes = 0, gradient_bytes = 0, optimizer_bytes = 0, buffer_bytes = 0;
  // What the engine holds in host memory (ZeroEngine::memory_account's host_optimizer_bytes +
  // host_parameter_bytes) and the size of its NVMe file (nvme_optimizer_bytes).
  int64_t host_bytes = 0, nvme_bytes = 0;
  int64_t activation_bytes = 0, activation_ckpt_bytes = 0;
  int64_t model_state_bytes() const { return parameter_bytes + gradient_bytes + optimizer_bytes; }
  // Device bytes including the margin, with or without activation checkpointing.
  int64_t total_bytes(bool checkpointing) const;
  // Host bytes of a rank: host_bytes, and on a CPU run (input.gpu false) the device's bytes
  // too, since its device is host memory.
  int64_t host_need_bytes(const MemoryPlanInput& input, bool checkpointing) const;
  // host_need_bytes within input.host_memory_bytes; true when that is unknown.
  bool host_fits(const MemoryPlanInput& input, bool checkpointing) const;
  // Largest micro batch that fits (0: none does); -1 when the device memory is unknown.
  int64_t max_micro_batch = -1, max_micro_batch_ckpt = -1;
};

// "none" (on the device), "cpu" or "nvme": the row's zero.offload_optimizer.
const char* offload_name(StateTier tier);

// Rows in order: stage 0; then stages 1-3 each with offload none, cpu, nvme; then, when
// input.offload_param, stage 3 with offload_param cpu.
std::vector<MemoryPlanRow> plan_memory(const MemoryPlanInput& input);

// One key=value line per row, as the .out log writes them.
std::string format_plan_row(const MemoryPlanRow& row, const MemoryPlanInput& input,
                            bool checkpointing);

}  // namespace zerotune::train
