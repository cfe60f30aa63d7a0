// The table of `zerotune estimate`: for each ZeRO stage 0-3 and offload choice, the bytes per
// rank (rank 0, which holds the largest shards) of parameters, gradients, optimizer state,
// communication and gather buffers, activations of the micro batch with and without
// activation checkpointing, and a fragmentation margin; whether that fits a GPU's memory and
// the largest micro batch that would. Sizes from memory_estimate.hpp.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "zerotune/base/dtype.hpp"
#include "zerotune/model/gpt2_layout.hpp"
#include "zerotune/train/optimizer.hpp"

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
};

struct MemoryPlanRow {
  int stage = 0;
  bool offload = false;  // optimizer state and fp32 masters in host memory
  int64_t parameter_bytes = 0, gradient_bytes = 0, optimizer_bytes = 0, buffer_bytes = 0;
  int64_t host_bytes = 0;  // what offload keeps in host memory instead
  int64_t activation_bytes = 0, activation_ckpt_bytes = 0;
  int64_t model_state_bytes() const { return parameter_bytes + gradient_bytes + optimizer_bytes; }
  // Device bytes including the margin, with or without activation checkpointing.
  int64_t total_bytes(bool checkpointing) const;
  // Largest micro batch that fits (0: none does); -1 when the device memory is unknown.
  int64_t max_micro_batch = -1, max_micro_batch_ckpt = -1;
};

std::vector<MemoryPlanRow> plan_memory(const MemoryPlanInput& input);

// One key=value line per row, as the .out log writes them.
std::string format_plan_row(const MemoryPlanRow& row, const MemoryPlanInput& input,
                            bool checkpointing);

}  // namespace zerotune::train
