// AdamW on a flat float range, exactly torch.optim.AdamW (amsgrad off, maximize off).
// The ZeRO engine calls it on each rank's shard of the flat buffers, one call per run of
// tensors with the same weight decay (the caller splits shards by TensorSpec::weight_decay).
#pragma once

#include <cstdint>

namespace zerotune::ops {

struct AdamWHyper {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;  // for this range: 0 for biases and LayerNorm weights
  // The gradient is used as grad * grad_scale: undoes a loss scale and applies a clip
  // coefficient in the same pass. 1 gives torch's semantics exactly.
  double grad_scale = 1.0;
};

// One step, t = 1 for the first (bias correction). For every i < n, with g = grad[i] * grad_scale:
//   p  = p * (1 - lr * wd)                      decoupled weight decay, before the moments
//   m  = b1 * m + (1 - b1) * g
//   v  = b2 * v + (1 - b2) * g^2
//   p  = p - lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
// m and v start at zero. Scalars are computed in double and rounded to float once, elements in
// float in torch's order, so results agree with torch's CPU kernel to float rounding.
void adamw_step(float* param, const float* grad, float* m, float* v, int64_t n,
                const AdamWHyper& hyper, int64_t t);

}  // namespace zerotune::ops
