#include "zerotune/ops/adamw.hpp"

#include <cmath>

namespace zerotune::ops {

void adamw_step(float* param, const float* grad, float* m, float* v, int64_t n,
                const AdamWHyper& hyper, int64_t t) {
  // Per-step scalars, as torch computes them (in double, then used as float).
  const double bias_correction1 = 1.0 - std::pow(hyper.beta1, static_cast<double>(t));
  const double bias_correction2 = 1.0 - std::pow(hyper.beta2, static_cast<double>(t));
  const float decay = static_cast<float>(1.0 - hyper.lr * hyper.weight_decay);
  const float beta1 = static_cast<float>(hyper.beta1);
  const float one_minus_beta1 = static_cast<float>(1.0 - hyper.beta1);
  const float beta2 = static_cast<float>(hyper.beta2);
  const float one_minus_beta2 = static_cast<float>(1.0 - hyper.beta2);
  const float neg_step_size = static_cast<float>(-hyper.lr / bias_correction1);
  const float bias_correction2_sqrt = static_cast<float>(std::sqrt(bias_correction2));
  const float eps = static_cast<float>(hyper.eps);
  const float grad_scale = static_cast<float>(hyper.grad_scale);
  const bool scaled = hyper.grad_scale != 1.0;

  // Elementwise, so vectorising keeps every result bit-identical to the scalar loop.
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) {
    const float g = scaled ? grad[i] * grad_scale : grad[i];
    const float p = param[i] * decay;                         // p *= 1 - lr*wd
    const float mi = beta1 * m[i] + one_minus_beta1 * g;      // m = b1 m + (1-b1) g
    const float vi = beta2 * v[i] + one_minus_beta2 * g * g;  // v = b2 v + (1-b2) g^2
    const float denom = std::sqrt(vi) / bias_correction2_sqrt + eps;
    m[i] = mi;
    v[i] = vi;
    param[i] = p + neg_step_size * (mi / denom);  // p -= lr/(1-b1^t) * m / denom
  }
}

}  // namespace zerotune::ops
