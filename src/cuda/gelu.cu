// GELU, tanh approximation, elementwise over n elements, as src/ops/gelu.cpp:
//   u  = sqrt(2/pi) * (x + 0.044715 x^3)
//   y  = 0.5 x (1 + tanh(u))
//   dx = dy * (0.5 (1 + tanh(u)) + 0.5 x (1 - tanh(u)^2) sqrt(2/pi) (1 + 3 * 0.044715 x^2))
// Computed in fp32, rounded once to the compute dtype. Each element is read and written by
// the same thread, so y may alias x and dx may alias dy.
// Grid: 256 threads, each takes packs of 16 bytes (4 fp32 or 8 bf16/fp16: one 128-bit load
// per operand) in a grid-stride loop capped at a few waves; element by element when a
// pointer is not 16-byte aligned and for the tail.
#include "cuda_check.cuh"
#include "dtype_dispatch.cuh"
#include "gelu.cuh"

namespace zerotune::cuda {

namespace {

constexpr int kThreads = 256;
constexpr float kSqrt2OverPi = 0.79788456080286535588f;
constexpr float kCubic = 0.044715f;

__device__ __forceinline__ float gelu(float x) {
  const float u = kSqrt2OverPi * (x + kCubic * x * x * x);
  return 0.5f * x * (1.f + tanhf(u));
}

__device__ __forceinline__ float gelu_grad(float x) {
  const float th = tanhf(kSqrt2OverPi * (x + kCubic * x * x * x));
  const float sech2 = 1.f - th * th;
  return 0.5f * (1.f + th) + 0.5f * x * sech2 * kSqrt2OverPi * (1.f + 3.f * kCubic * x * x);
}

// out[i] = kBackward ? dy[i] * gelu'(x[i]) : gelu(x[i]). No __restrict__: out may alias.
template <typename T, bool kBackward>
__global__ void gelu_kernel(T* out, const T* x, const T* dy, int64_t n, bool packed) {
  constexpr int N = kPack128<T>;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x * N;
  for (int64_t i = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) * N; i < n;
       i += stride) {
    if (packed && i + N <= n) {
      float xv[N], r[N];
      load_pack<N>(xv, x + i);
      if (kBackward) {
        float g[N];
        load_pack<N>(g, dy + i);
#pragma unroll
        for (int k = 0; k < N; ++k) r[k] = g[k] * gelu_grad(xv[k]);
      } else {
#pragma unroll
        for (int k = 0; k < N; ++k) r[k] = gelu(xv[k]);
      }
      store_pack<N>(out + i, r);
    } else {
      for (int64_t j = i; j < n && j < i + N; ++j) {
        const float xj = to_float(x[j]);
        out[j] = from_float<T>(kBackward ? to_float(dy[j]) * gelu_grad(xj) : gelu(xj));
      }
    }
  }
}

template <typename T, bool kBackward>
void launch_gelu(void* out, const void* x, const void* dy, int64_t n, cudaStream_t stream) {
  if (n <= 0) return;
  constexpr int N = kPack128<T>;
  const bool packed =
      is_aligned(out, 16) && is_aligned(x, 16) && (!kBackward || is_aligned(dy, 16));
  gelu_kernel<T, kBackward><<<grid_for((n + N - 1) / N, kThreads), kThreads, 0, stream>>>(
      static_cast<T*>(out), static_cast<const T*>(x), static_cast<const T*>(dy), n, packed);
  ZT_CUDA_CHECK(cudaGetLastError());
}

}  // namespace

void gelu_forward(DType dt, void* y, const void* x, int64_t n, cudaStream_t stream) {
  dispatch_dtype(dt, "gelu_forward", [&](auto tag) {
    launch_gelu<typename decltype(tag)::type, false>(y, x, nullptr, n, stream);
  });
}

void gelu_backward(DType dt, void* dx, const void* x, const void* dy, int64_t n,
                   cudaStream_t stream) {
  dispatch_dtype(dt, "gelu_backward", [&](auto tag) {
    launch_gelu<typename decltype(tag)::type, true>(dx, x, dy, n, stream);
  });
}

}  // namespace zerotune::cuda
