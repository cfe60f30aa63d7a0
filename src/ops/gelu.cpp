#include "zerotune/ops/gelu.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>

namespace zerotune::ops {

namespace {

constexpr double kSqrt2OverPi = 0.79788456080286535588;
constexpr double kCubic = 0.044715;

// tanh for float in plain arithmetic that the compiler vectorizes (glibc's tanhf is a scalar
// call, and it took 30% of the demo's training step):
//   tanh(u) = sign(u) (1 - e) / (1 + e),  e = exp(-2a), a = min(|u|, 9)  (tanh(9) rounds to 1)
//   exp(x) = 2^n exp(r), n = round(x / ln 2), r = x - n ln 2 in [-ln2/2, ln2/2] (Cody-Waite),
//   exp(r) by its degree-7 Taylor polynomial (truncation < 4e-9).
// Absolute error within a few 1e-8, which is what float resolves near tanh = +-1. The clamp
// works on the bit patterns (non-negative floats order like their bits) because GCC will not
// if-convert a float comparison under -ftrapping-math, which would keep the loop scalar.
inline float tanh_vectorizable(float u) {
  const int32_t bits = std::min(std::bit_cast<int32_t>(std::fabs(u)), std::bit_cast<int32_t>(9.0f));
  const float x = -2.0f * std::bit_cast<float>(bits);
  const float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;  // round to nearest
  const float r = (x - n * 0.693359375f) - n * -2.12194440e-4f;
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const float e = p * std::bit_cast<float>((static_cast<int32_t>(n) + 127) << 23);
  return std::copysign((1.0f - e) / (1.0f + e), u);
}

// double keeps the library's tanh: it serves the finite-difference checks.
inline float tanh_of(float u) { return tanh_vectorizable(u); }
inline double tanh_of(double u) { return std::tanh(u); }

}  // namespace

template <typename T>
void gelu_forward(T* y, const T* x, int64_t N) {
  const T a = static_cast<T>(kSqrt2OverPi);
  const T c = static_cast<T>(kCubic);
  for (int64_t i = 0; i < N; ++i) {
    const T xi = x[i];
    const T u = a * (xi + c * xi * xi * xi);
    y[i] = T(0.5) * xi * (T(1) + tanh_of(u));
  }
}

template <typename T>
void gelu_backward(T* dx, const T* x, const T* dy, int64_t N) {
  const T a = static_cast<T>(kSqrt2OverPi);
  const T c = static_cast<T>(kCubic);
  for (int64_t i = 0; i < N; ++i) {
    const T xi = x[i];
    const T th = tanh_of(a * (xi + c * xi * xi * xi));
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
