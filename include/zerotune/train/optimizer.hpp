// The optimizer as the engine sees it: one update over a contiguous range of a unit's
// flat parameters, with that range's weight decay. AdamW keeps two state arrays (exp_avg,
// exp_avg_sq), SGD with momentum one (momentum_buffer). The math is in ops/adamw.hpp and
// ops/sgd.hpp.
#pragma once

#include <cstdint>
#include <string>

namespace zerotune::train {

enum class OptimizerKind { kAdamW, kSgd };

struct OptimizerSettings {
  OptimizerKind kind = OptimizerKind::kAdamW;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double momentum = 0.9;
  double weight_decay = 0.0;  // applied to ranges whose tensors decay (not biases, not LayerNorm)
};

OptimizerKind parse_optimizer_kind(const std::string& name);
int optimizer_state_count(OptimizerKind kind);
const char* optimizer_state_name(OptimizerKind kind, int which);

// step: 1-based count of updates taken so far including this one (AdamW bias correction).
// The gradient is used as grad * grad_scale (the clip coefficient). state1 is unused (may be
// null) for SGD.
void optimizer_update(const OptimizerSettings& settings, float* param, const float* grad,
                      float* state0, float* state1, int64_t n, double lr, double grad_scale,
                      bool decay, int64_t step);

}  // namespace zerotune::train
