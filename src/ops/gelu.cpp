#include "zerotune/ops/gelu.hpp"

#include <cmath>

namespace zerotune::ops {

namespace {
constexpr double kSqrt2OverPi = 0.79788456080286535588;
constexpr double kCubic = 0.044715;
}  // namespace

template <typename T>
void gelu_forward(T* y, const T* x, int64_t N) {
  const T a = static_cast<T>(kSqrt2OverPi);
  const T c = static_cast<T>(kCubic);
  for (int64_t i = 0; i < N; ++i) {
    const T xi = x[i];
    const T u = a * (xi + c * xi * xi * xi);
    y[i] = T(0.5) * xi * (T(1) + std::tanh(u));
  }
}

template <typename T>
void gelu_backward(T* dx, const T* x, const T* dy, int64_t N) {
  const T a = static_cast<T>(kSqrt2OverPi);
  const T c = static_cast<T>(kCubic);
  for (int64_t i = 0; i < N; ++i) {
    const T xi = x[i];
    const T th = std::tanh(a * (xi + c * xi * xi * xi));
    const T sech2 = T(1) - th * th;
    const T grad = T(0.5) * (T(1) + th) + T(0.5) * xi * sech2 * a * (T(1) + T(3) * c * xi * xi);
    dx[i] = dy[i] * grad;
  }
}

template void gelu_forward<float>(float*, const float*, int64_t);
template void gelu_forward<double>(double*, const double*, int64_t);
template void gelu_backward<float>(float*, const float*, const float*, int64_t);
template void gelu_backward<double>(double*, const double*, const double*, int64_t);

}  // namespace zerotune::ops
