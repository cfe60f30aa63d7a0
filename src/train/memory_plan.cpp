#include "zerotune/train/memory_plan.hpp"

#include <cmath>
#include <cstdio>
#include <utility>

#include "zerotune/train/memory_estimate.hpp"

namespace zerotune::train {

namespace {

int64_t with_margin(int64_t bytes) {
  return bytes + static_cast<int64_t>(std::ceil(kFragmentationMargin * static_cast<double>(bytes)));
}

ActivationSizing sizing_of(const MemoryPlanInput& in) {
  return in.gpu ? ActivationSizing::gpu(static_cast<int64_t>(dtype_bytes(in.compute_dtype)))
                : ActivationSizing::cpu_fp32();
}

int64_t tokens_of(const MemoryPlanInput& in) {
  return in.tokens > 0 ? in.tokens : in.shape.seq_len;
}

// The largest B with states + activations(B) under the memory (activations grow with B).
int64_t largest_batch(const MemoryPlanRow& row, const MemoryPlanInput& in, bool checkpointing) {
  if (in.device_memory_bytes <= 0) return -1;
  const int64_t fixed = row.model_state_bytes() + row.buffer_bytes;
  auto fits = [&](int64_t b) {
    return with_margin(fixed + estimate_activation_bytes(in.shape, b, tokens_of(in), checkpointing,
                                                         sizing_of(in))) <= in.device_memory_bytes;
  };
  if (!fits(1)) return 0;
  int64_t lo = 1, hi = 2;
  while (hi < (int64_t{1} << 24) && fits(hi)) {
    lo = hi;
    hi *= 2;
  }
  while (hi - lo > 1) {  // fits(lo), !fits(hi)
    const int64_t mid = lo + (hi - lo) / 2;
    (fits(mid) ? lo : hi) = mid;
  }
  return lo;
}

std::string gib(int64_t bytes) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.3f", static_cast<double>(bytes) / (1024.0 * 1024 * 1024));
  return text;
}

}  // namespace

int64_t MemoryPlanRow::total_bytes(bool checkpointing) const {
  return with_margin(model_state_bytes() + buffer_bytes +
                     (checkpointing ? activation_ckpt_bytes : activation_bytes));
}

int64_t MemoryPlanRow::host_need_bytes(const MemoryPlanInput& in, bool checkpointing) const {
  return host_bytes + (in.gpu ? 0 : total_bytes(checkpointing));
}

bool MemoryPlanRow::host_fits(const MemoryPlanInput& in, bool checkpointing) const {
  return in.host_memory_bytes <= 0 || host_need_bytes(in, checkpointing) <= in.host_memory_bytes;
}

const char* offload_name(StateTier tier) {
  return tier == StateTier::kDevice ? "none" : state_tier_name(tier);
}

std::vector<MemoryPlanRow> plan_memory(const MemoryPlanInput& in) {
  const model::Gpt2Layout layout = model::make_gpt2_layout(in.shape);
  std::vector<std::pair<int, OffloadSettings>> choices;  // (stage, offload), in row order
  choices.push_back({0, {}});
  for (int stage = 1; stage <= 3; ++stage) {
    for (StateTier tier : {StateTier::kDevice, StateTier::kCpu, StateTier::kNvme}) {
      OffloadSettings offload;
      offload.optimizer_tier = tier;
      offload.optimizer_ratio = in.offload_optimizer_ratio;
      choices.push_back({stage, offload});
    }
  }
  if (in.offload_param != StateTier::kDevice) {
    OffloadSettings offload;
    offload.optimizer_tier = in.offload_param_tier;
    offload.parameter_tier = in.offload_param;
    choices.push_back({3, offload});
  }
  std::vector<MemoryPlanRow> rows;
  for (const auto& [stage, offload] : choices) {
    const MemoryAccount a =
        estimate_model_states(layout, stage, in.world, 0, in.compute_dtype, in.optimizer,
                              in.micro_batches_per_step, in.comm, offload);
    MemoryPlanRow row;
    row.stage = stage;
    row.offload = offload.optimizer_tier;
    row.offload_param = offload.parameter_tier;
    row.parameter_bytes = a.parameter_bytes;
    row.gradient_bytes = a.gradient_bytes;
    row.optimizer_bytes = a.optimizer_bytes;
    row.host_bytes = a.host_optimizer_bytes + a.host_parameter_bytes;
    row.nvme_bytes = a.nvme_optimizer_bytes + a.nvme_parameter_bytes;
    row.buffer_bytes = a.scratch_bytes;
    row.activation_bytes =
        estimate_activation_bytes(in.shape, in.micro_batch, tokens_of(in), false, sizing_of(in));
    row.activation_ckpt_bytes =
        estimate_activation_bytes(in.shape, in.micro_batch, tokens_of(in), true, sizing_of(in));
    row.max_micro_batch = largest_batch(row, in, false);
    row.max_micro_batch_ckpt = largest_batch(row, in, true);
    rows.push_back(row);
  }
  return rows;
}

std::string format_plan_row(const MemoryPlanRow& r, const MemoryPlanInput& in, bool checkpointing) {
  std::string fits = "unknown";
  if (in.device_memory_bytes > 0) {
    fits = r.total_bytes(checkpointing) <= in.device_memory_bytes ? "fits" : "does_not_fit";
  }
  std::string host_fits = "unknown";
  if (in.host_memory_bytes > 0) host_fits = r.host_fits(in, checkpointing) ? "true" : "false";
  auto batch = [](int64_t b) { return b < 0 ? std::string("unknown") : std::to_string(b); };
  const int64_t margin = r.total_bytes(checkpointing) - r.model_state_bytes() - r.buffer_bytes -
                         (checkpointing ? r.activation_ckpt_bytes : r.activation_bytes);
  return "estimate stage=" + std::to_string(r.stage) + " offload=" + offload_name(r.offload) +
         " offload_param=" + offload_name(r.offload_param) +
         " params_gib=" + gib(r.parameter_bytes) + " grads_gib=" + gib(r.gradient_bytes) +
         " optimizer_gib=" + gib(r.optimizer_bytes) + " host_gib=" + gib(r.host_bytes) +
         " nvme_gib=" + gib(r.nvme_bytes) + " buffers_gib=" + gib(r.buffer_bytes) +
         " activations_gib=" + gib(r.activation_bytes) +
         " activations_ckpt_gib=" + gib(r.activation_ckpt_bytes) + " margin_gib=" + gib(margin) +
         " total_gib=" + gib(r.total_bytes(checkpointing)) + " " + fits +
         " max_micro_batch=" + batch(r.max_micro_batch) +
         " max_micro_batch_ckpt=" + batch(r.max_micro_batch_ckpt) + " host_fits=" + host_fits +
         " model_state_bytes=" + std::to_string(r.model_state_bytes()) +
         " host_bytes=" + std::to_string(r.host_bytes) +
         " nvme_bytes=" + std::to_string(r.nvme_bytes);
}

}  // namespace zerotune::train
