#include "zerotune/ops/sgd.hpp"

namespace zerotune::ops {

void sgd_step(float* param, const float* grad, float* momentum_buffer, int64_t n,
              const SgdHyper& hyper) {
  const float neg_lr = static_cast<float>(-hyper.lr);
  const float wd = static_cast<float>(hyper.weight_decay);
  const float momentum = static_cast<float>(hyper.momentum);
  const float grad_scale = static_cast<float>(hyper.grad_scale);
  const bool scaled = hyper.grad_scale != 1.0;
  const bool use_momentum = hyper.momentum != 0.0;

  for (int64_t i = 0; i < n; ++i) {
    float g = scaled ? grad[i] * grad_scale : grad[i];
    g = g + wd * param[i];  // coupled weight decay: g += wd * p
    if (use_momentum) {
      g = momentum * momentum_buffer[i] + g;  // buf = momentum * buf + g
      momentum_buffer[i] = g;
    }
    param[i] = param[i] + neg_lr * g;  // p -= lr * buf
  }
}

}  // namespace zerotune::ops
