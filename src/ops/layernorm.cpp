#include "zerotune/ops/layernorm.hpp"

#include <cmath>

namespace zerotune::ops {

template <typename T>
void layernorm_forward(T* y, T* mean, T* rstd, const T* x, const T* weight, const T* bias,
                       int64_t N, int64_t C) {
  const T inv_c = T(1) / static_cast<T>(C);
  for (int64_t i = 0; i < N; ++i) {
    const T* xi = x + i * C;
    T sum = T(0);
    for (int64_t c = 0; c < C; ++c) sum += xi[c];
    const T m = sum * inv_c;
    T var = T(0);
    for (int64_t c = 0; c < C; ++c) {
      const T d = xi[c] - m;
      var += d * d;
    }
    const T s = T(1) / std::sqrt(var * inv_c + static_cast<T>(kLayerNormEps));
    T* yi = y + i * C;
    for (int64_t c = 0; c < C; ++c) yi[c] = (xi[c] - m) * s * weight[c] + bias[c];
    mean[i] = m;
    rstd[i] = s;
  }
}

template <typename T>
void layernorm_backward(T* dx, T* dweight, T* dbias, const T* dy, const T* x, const T* weight,
                        const T* mean, const T* rstd, int64_t N, int64_t C) {
  const T inv_c = T(1) / static_cast<T>(C);
  for (int64_t i = 0; i < N; ++i) {
    const T* xi = x + i * C;
    const T* dyi = dy + i * C;
    T* dxi = dx + i * C;
    const T m = mean[i];
    const T s = rstd[i];
    T sum_dnorm = T(0);
    T sum_dnorm_xhat = T(0);
    for (int64_t c = 0; c < C; ++c) {
      const T xhat = (xi[c] - m) * s;
      const T dnorm = dyi[c] * weight[c];
      sum_dnorm += dnorm;
      sum_dnorm_xhat += dnorm * xhat;
      dweight[c] += dyi[c] * xhat;
      dbias[c] += dyi[c];
    }
    const T mean_dnorm = sum_dnorm * inv_c;
    const T mean_dnorm_xhat = sum_dnorm_xhat * inv_c;
    for (int64_t c = 0; c < C; ++c) {
      const T xhat = (xi[c] - m) * s;
      const T dnorm = dyi[c] * weight[c];
      dxi[c] += s * (dnorm - mean_dnorm - xhat * mean_dnorm_xhat);
    }
  }
}

template void layernorm_forward<float>(float*, float*, float*, const float*, const float*,
                                       const float*, int64_t, int64_t);
template void layernorm_forward<double>(double*, double*, double*, const double*, const double*,
                                        const double*, int64_t, int64_t);
template void layernorm_backward<float>(float*, float*, float*, const float*, const float*,
                                        const float*, const float*, const float*, int64_t, int64_t);
template void layernorm_backward<double>(double*, double*, double*, const double*, const double*,
                                         const double*, const double*, const double*, int64_t,
                                         int64_t);

}  // namespace zerotune::ops
