// SGD with momentum on a flat float range, exactly torch.optim.SGD with dampening 0 and
// nesterov off. Weight decay is torch's coupled (L2) kind: it is added to the gradient.
#pragma once

#include <cstdint>

namespace zerotune::ops {

struct SgdHyper {
  double lr = 1e-3;
  double momentum = 0.0;
  double weight_decay = 0.0;  // for this range
  double grad_scale = 1.0;    // gradient used as grad * grad_scale (loss scale, clip)
};

// One step. For every i < n, with g = grad[i] * grad_scale:
//   g   = g + wd * p
//   buf = momentum * buf + g        (buf starts at zero, so the first step gives buf = g,
//                                    as torch's clone of the first gradient)
//   p   = p - lr * buf              (p - lr * g when momentum == 0; buf may then be null)
void sgd_step(float* param, const float* grad, float* momentum_buffer, int64_t n,
              const SgdHyper& hyper);

}  // namespace zerotune::ops
