#include "zerotune/train/optimizer.hpp"

#include "zerotune/base/error.hpp"
#include "zerotune/ops/adamw.hpp"
#include "zerotune/ops/sgd.hpp"

namespace zerotune::train {

OptimizerKind parse_optimizer_kind(const std::string& name) {
  if (name == "adamw") return OptimizerKind::kAdamW;
  if (name == "sgd") return OptimizerKind::kSgd;
  throw InputError("train.optimizer: expected adamw or sgd, got \"" + name + "\"");
}

int optimizer_state_count(OptimizerKind kind) { return kind == OptimizerKind::kAdamW ? 2 : 1; }

const char* optimizer_state_name(OptimizerKind kind, int which) {
  if (kind == OptimizerKind::kSgd) return "momentum_buffer";
  return which == 0 ? "exp_avg" : "exp_avg_sq";
}

void optimizer_update(const OptimizerSettings& s, float* param, const float* grad, float* state0,
                      float* state1, int64_t n, double lr, double grad_scale, bool decay,
                      int64_t step) {
  const double wd = decay ? s.weight_decay : 0.0;
  if (s.kind == OptimizerKind::kAdamW) {
    ops::AdamWHyper h;
    h.lr = lr;
    h.beta1 = s.beta1;
    h.beta2 = s.beta2;
    h.eps = s.eps;
    h.weight_decay = wd;
    h.grad_scale = grad_scale;
    ops::adamw_step(param, grad, state0, state1, n, h, step);
  } else {
    ops::SgdHyper h;
    h.lr = lr;
    h.momentum = s.momentum;
    h.weight_decay = wd;
    h.grad_scale = grad_scale;
    ops::sgd_step(param, grad, state0, n, h);
  }
}

}  // namespace zerotune::train
