// Gradient norm: ||g||^2 = sum_i g_i^2, in two deterministic launches:
//   sum_squares_partials: kNormPartials blocks x 256 threads; thread k of the grid takes the
//     4-element chunks k, k + grid, k + 2 grid, ... (a 128-bit load when x is 16-byte
//     aligned; the same elements in the same order otherwise), accumulates in fp32, and the
//     block adds its threads in a fixed shared-memory tree: partials[block].
//   sum_partials: one block adds count partials in double, fixed tree.
// The grid is fixed, so the split (and the rounding) depends on n only, never on the GPU.
// count_nonfinite: a fixed grid counts per block and adds the block counts with integer
// atomics, which are exact and so order-independent: the count is deterministic.
#include <cmath>

#include "cuda_check.cuh"
#include "dtype_dispatch.cuh"
#include "grad_norm.cuh"

namespace zerotune::cuda {

namespace {

constexpr int kThreads = 256;
constexpr int kChunk = 4;

template <typename T>
__device__ __forceinline__ T block_tree_sum(T* shared, T v) {
  shared[threadIdx.x] = v;
  __syncthreads();
  for (int half = blockDim.x / 2; half > 0; half >>= 1) {
    if (threadIdx.x < half) shared[threadIdx.x] += shared[threadIdx.x + half];
    __syncthreads();
  }
  return shared[0];
}

__global__ void sum_squares_kernel(float* partials, const float* x, int64_t n, bool packed) {
  __shared__ float shared[kThreads];
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x * kChunk;
  float acc = 0.f;
  for (int64_t i = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) * kChunk; i < n;
       i += stride) {
    if (packed && i + kChunk <= n) {
      const float4 q = *reinterpret_cast<const float4*>(x + i);
      acc += q.x * q.x;
      acc += q.y * q.y;
      acc += q.z * q.z;
      acc += q.w * q.w;
    } else {
      for (int64_t j = i; j < n && j < i + kChunk; ++j) acc += x[j] * x[j];
    }
  }
  const float total = block_tree_sum(shared, acc);
  if (threadIdx.x == 0) partials[blockIdx.x] = total;
}

__global__ void sum_partials_kernel(double* out, const float* partials, int64_t count) {
  __shared__ double shared[kThreads];
  double acc = 0.0;
  for (int64_t i = threadIdx.x; i < count; i += blockDim.x) acc += partials[i];
  const double total = block_tree_sum(shared, acc);
  if (threadIdx.x == 0) *out = total;
}

__global__ void count_nonfinite_kernel(int32_t* out, const float* x, int64_t n) {
  __shared__ int32_t shared[kThreads];
  int32_t count = 0;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += stride) {
    count += isfinite(x[i]) ? 0 : 1;
  }
  const int32_t total = block_tree_sum(shared, count);
  if (threadIdx.x == 0 && total != 0) atomicAdd(out, total);
}

}  // namespace

void sum_squares_partials(float* partials, const float* x, int64_t n, cudaStream_t stream) {
  sum_squares_kernel<<<kNormPartials, kThreads, 0, stream>>>(partials, x, n, is_aligned(x, 16));
  ZT_CUDA_CHECK(cudaGetLastError());
}

void sum_partials(double* out, const float* partials, int64_t count, cudaStream_t stream) {
  sum_partials_kernel<<<1, kThreads, 0, stream>>>(out, partials, count);
  ZT_CUDA_CHECK(cudaGetLastError());
}

void count_nonfinite(int32_t* out, const float* x, int64_t n, cudaStream_t stream) {
  ZT_CUDA_CHECK(cudaMemsetAsync(out, 0, sizeof(int32_t), stream));
  if (n <= 0) return;
  count_nonfinite_kernel<<<grid_for(n, kThreads), kThreads, 0, stream>>>(out, x, n);
  ZT_CUDA_CHECK(cudaGetLastError());
}

}  // namespace zerotune::cuda
