#include "zerotune/ops/lm_head.hpp"

#include "gemm.hpp"

namespace zerotune::ops {

template <typename T>
void lm_head_forward(T* logits, const T* x, const T* wte, int64_t N, int64_t C, int64_t V) {
  if (N == 0) return;
  detail::gemm(false, true, N, V, C, T(1), x, C, wte, C, T(0), logits, V);
}

template <typename T>
void lm_head_backward(T* dx, T* dwte, const T* dlogits, const T* x, const T* wte, int64_t N,
                      int64_t C, int64_t V) {
  if (N == 0) return;
  detail::gemm(false, false, N, C, V, T(1), dlogits, V, wte, C, T(0), dx, C);
  detail::gemm(true, false, V, C, N, T(1), dlogits, V, x, C, T(1), dwte, C);
}

template void lm_head_forward<float>(float*, const float*, const float*, int64_t, int64_t, int64_t);
template void lm_head_forward<double>(double*, const double*, const double*, int64_t, int64_t,
                                      int64_t);
template void lm_head_backward<float>(float*, float*, const float*, const float*, const float*,
                                      int64_t, int64_t, int64_t);
template void lm_head_backward<double>(double*, double*, const double*, const double*,
                                       const double*, int64_t, int64_t, int64_t);

}  // namespace zerotune::ops
