// LayerNorm over the last dimension, as GPT-2's (eps 1e-5, biased variance).
#pragma once

#include <cstdint>

namespace zerotune::ops {

inline constexpr double kLayerNormEps = 1e-5;

// Forward, per row of N = B*T rows of C:
//   mean = sum(x)/C, rstd = 1/sqrt(sum((x-mean)^2)/C + eps)
//   y = (x - mean) * rstd * weight + bias
// y[N, C], mean[N], rstd[N] are OVERWRITTEN (mean and rstd are kept for the backward).
// Backward, with xhat = (x - mean) * rstd and dy[N, C] the upstream gradient:
//   dweight[C] += sum_rows(dy * xhat), dbias[C] += sum_rows(dy)        ACCUMULATED
//   dx[N, C]   += rstd * (dy*w - mean_C(dy*w) - xhat * mean_C(dy*w*xhat))   ACCUMULATED
// dx accumulates so that the residual stream's gradient flows through one buffer: the
// caller holds d(residual) in dx and the LayerNorm branch adds into it. dx must not alias dy.
template <typename T>
void layernorm_forward(T* y, T* mean, T* rstd, const T* x, const T* weight, const T* bias,
                       int64_t N, int64_t C);

template <typename T>
void layernorm_backward(T* dx, T* dweight, T* dbias, const T* dy, const T* x, const T* weight,
                        const T* mean, const T* rstd, int64_t N, int64_t C);

}  // namespace zerotune::ops
