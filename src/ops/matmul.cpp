#include "zerotune/ops/matmul.hpp"

#include "gemm.hpp"

namespace zerotune::ops {

template <typename T>
void matmul_forward(T* y, const T* x, const T* w, const T* b, int64_t N, int64_t IC, int64_t OC) {
  if (N == 0 || OC == 0) return;
  T beta = T(0);
  if (b != nullptr) {
    for (int64_t i = 0; i < N; ++i) {
      T* yi = y + i * OC;
      for (int64_t o = 0; o < OC; ++o) yi[o] = b[o];
    }
    beta = T(1);
  }
  detail::gemm(false, false, N, OC, IC, T(1), x, IC, w, OC, beta, y, OC);
}

template <typename T>
void matmul_backward(T* dx, T* dw, T* db, const T* dy, const T* x, const T* w, int64_t N,
                     int64_t IC, int64_t OC) {
  if (N == 0) return;
  if (dx != nullptr) detail::gemm(false, true, N, IC, OC, T(1), dy, OC, w, OC, T(0), dx, IC);
  detail::gemm(true, false, IC, OC, N, T(1), x, IC, dy, OC, T(1), dw, OC);
  if (db != nullptr) {
    for (int64_t i = 0; i < N; ++i) {
      const T* dyi = dy + i * OC;
      for (int64_t o = 0; o < OC; ++o) db[o] += dyi[o];
    }
  }
}

template void matmul_forward<float>(float*, const float*, const float*, const float*, int64_t,
                                    int64_t, int64_t);
template void matmul_forward<double>(double*, const double*, const double*, const double*, int64_t,
                                     int64_t, int64_t);
template void matmul_backward<float>(float*, float*, float*, const float*, const float*,
                                     const float*, int64_t, int64_t, int64_t);
template void matmul_backward<double>(double*, double*, double*, const double*, const double*,
                                      const double*, int64_t, int64_t, int64_t);

}  // namespace zerotune::ops
