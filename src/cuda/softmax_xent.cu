// Fused softmax + cross-entropy, per row i of N rows of V logits (row stride ld >= V):
//   lse[i]      = log sum_j exp(logits[i,j])       = m + log sum_j exp(logits[i,j] - m)
//   row_loss[i] = lse[i] - logits[i, t_i]           (0 when t_i == -100)
//   dlogits[i,j] = dloss * (softmax(logits[i,:])_j - [j == t_i])    (0 rows when ignored)
// Forward: one block of 512 threads per row (V = 50257 for GPT-2: ~100 logits a thread).
// Each thread keeps an online (max, sum of exp(x - max)) pair over its strided columns, so
// the logits are read once and never copied to fp32; the pairs are merged with
//   (m, s) + (m', s') = (M, s exp(m - M) + s' exp(m' - M)),  M = max(m, m')
// by warp shuffles, then across the 16 warps in warp order: a fixed order, deterministic.
// Backward: one block per row, one pass; each element is read and written by one thread, so
// dlogits may alias logits. Both read 16-byte packs when ld is a multiple of the pack and the
// buffer is 16-byte aligned (the last V mod pack columns go one by one, so padding is never
// touched). sum_rows: one block of 1024 threads adding doubles in a fixed tree.
#include <cmath>

#include "cuda_check.cuh"
#include "dtype_dispatch.cuh"
#include "softmax_xent.cuh"

namespace zerotune::cuda {

namespace {

constexpr int kRowThreads = 512;
constexpr int kSumThreads = 1024;
constexpr int32_t kIgnoreIndex = -100;

struct MaxSum {
  float m;  // running max (-inf before any element)
  float s;  // sum of exp(x - m)
};

__device__ __forceinline__ MaxSum merge(MaxSum a, MaxSum b) {
  if (a.m == -INFINITY) return b;
  if (b.m == -INFINITY) return a;
  const float m = fmaxf(a.m, b.m);
  return {m, a.s * expf(a.m - m) + b.s * expf(b.m - m)};
}

__device__ __forceinline__ void push(MaxSum& acc, float x) {
  if (x > acc.m) {
    acc.s = acc.s * expf(acc.m - x) + 1.f;  // exp(-inf) = 0 for the first element
    acc.m = x;
  } else {
    acc.s += expf(x - acc.m);
  }
}

template <typename T, int N>
__global__ void softmax_xent_forward_kernel(float* lse, float* row_loss, const T* logits,
                                            const int32_t* targets, int64_t V, int64_t ld) {
  __shared__ MaxSum warp_pairs[kRowThreads / 32];
  const int64_t row = blockIdx.x;
  const T* x = logits + row * ld;
  const int64_t v_packed = V - V % N;
  MaxSum acc{-INFINITY, 0.f};
  for (int64_t j = threadIdx.x * N; j < v_packed; j += kRowThreads * N) {
    float v[N];
    load_pack<N>(v, x + j);
#pragma unroll
    for (int k = 0; k < N; ++k) push(acc, v[k]);
  }
  for (int64_t j = v_packed + threadIdx.x; j < V; j += kRowThreads) push(acc, to_float(x[j]));

  // Tree within the warp, then warp 0 merges the warps' pairs in ascending warp order.
  for (int offset = 16; offset > 0; offset >>= 1) {
    MaxSum other{__shfl_down_sync(0xffffffffu, acc.m, offset),
                 __shfl_down_sync(0xffffffffu, acc.s, offset)};
    acc = merge(acc, other);
  }
  if (threadIdx.x % 32 == 0) warp_pairs[threadIdx.x / 32] = acc;
  __syncthreads();
  if (threadIdx.x == 0) {
    MaxSum total = warp_pairs[0];
    for (int w = 1; w < kRowThreads / 32; ++w) total = merge(total, warp_pairs[w]);
    const float row_lse = total.m + logf(total.s);
    lse[row] = row_lse;
    const int32_t target = targets[row];
    float loss = 0.f;
    if (target != kIgnoreIndex) {
      loss = (target >= 0 && target < V) ? row_lse - to_float(x[target]) : NAN;
    }
    row_loss[row] = loss;
  }
}

template <typename T, int N>
__global__ void softmax_xent_backward_kernel(T* dlogits, const T* logits, const float* lse,
                                             const int32_t* targets, float dloss, int64_t V,
                                             int64_t ld) {
  const int64_t row = blockIdx.x;
  const T* x = logits + row * ld;
  T* d = dlogits + row * ld;
  const int32_t target = targets[row];
  const bool ignored = target == kIgnoreIndex;
  const float l = lse[row];
  const int64_t v_packed = V - V % N;
  for (int64_t j = threadIdx.x * N; j < v_packed; j += kRowThreads * N) {
    float v[N];
    load_pack<N>(v, x + j);
#pragma unroll
    for (int k = 0; k < N; ++k) {
      v[k] = ignored ? 0.f : dloss * (expf(v[k] - l) - (j + k == target ? 1.f : 0.f));
    }
    store_pack<N>(d + j, v);
  }
  for (int64_t j = v_packed + threadIdx.x; j < V; j += kRowThreads) {
    const float g = ignored ? 0.f : dloss * (expf(to_float(x[j]) - l) - (j == target ? 1.f : 0.f));
    d[j] = from_float<T>(g);
  }
}

__global__ void sum_rows_kernel(double* out, const float* row_loss, int64_t N) {
  __shared__ double partial[kSumThreads];
  double acc = 0.0;
  for (int64_t i = threadIdx.x; i < N; i += kSumThreads) acc += static_cast<double>(row_loss[i]);
  partial[threadIdx.x] = acc;
  __syncthreads();
  for (int half = kSumThreads / 2; half > 0; half >>= 1) {
    if (threadIdx.x < half) partial[threadIdx.x] += partial[threadIdx.x + half];
    __syncthreads();
  }
  if (threadIdx.x == 0) *out = partial[0];
}

template <typename T>
bool row_packs_fit(const void* a, const void* b, int64_t ld) {
  return ld % kPack128<T> == 0 && is_aligned(a, 16) && is_aligned(b, 16);
}

}  // namespace

void softmax_xent_forward(DType dt, float* lse, float* row_loss, const void* logits,
                          const int32_t* targets, int64_t N, int64_t V, int64_t ld,
                          cudaStream_t stream) {
  if (N <= 0) return;
  dispatch_dtype(dt, "softmax_xent_forward", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* x = static_cast<const T*>(logits);
    const unsigned grid = static_cast<unsigned>(N);
    if (row_packs_fit<T>(logits, logits, ld)) {
      softmax_xent_forward_kernel<T, kPack128<T>>
          <<<grid, kRowThreads, 0, stream>>>(lse, row_loss, x, targets, V, ld);
    } else {
      softmax_xent_forward_kernel<T, 1>
          <<<grid, kRowThreads, 0, stream>>>(lse, row_loss, x, targets, V, ld);
    }
    ZT_CUDA_CHECK(cudaGetLastError());
  });
}

void softmax_xent_backward(DType dt, void* dlogits, const void* logits, const float* lse,
                           const int32_t* targets, float dloss, int64_t N, int64_t V, int64_t ld,
                           cudaStream_t stream) {
  if (N <= 0) return;
  dispatch_dtype(dt, "softmax_xent_backward", [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* d = static_cast<T*>(dlogits);
    const T* x = static_cast<const T*>(logits);
    const unsigned grid = static_cast<unsigned>(N);
    if (row_packs_fit<T>(dlogits, logits, ld)) {
      softmax_xent_backward_kernel<T, kPack128<T>>
          <<<grid, kRowThreads, 0, stream>>>(d, x, lse, targets, dloss, V, ld);
    } else {
      softmax_xent_backward_kernel<T, 1>
          <<<grid, kRowThreads, 0, stream>>>(d, x, lse, targets, dloss, V, ld);
    }
    ZT_CUDA_CHECK(cudaGetLastError());
  });
}

void sum_rows(double* out, const float* row_loss, int64_t N, cudaStream_t stream) {
  sum_rows_kernel<<<1, kSumThreads, 0, stream>>>(out, row_loss, N);
  ZT_CUDA_CHECK(cudaGetLastError());
}

}  // namespace zerotune::cuda
