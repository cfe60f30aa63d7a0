// LayerNorm over the last dimension C, per row of N = B*T rows (src/ops/layernorm.cpp):
//   mean = sum(x)/C, rstd = 1/sqrt(sum((x-mean)^2)/C + eps), eps = 1e-5
//   y = (x - mean) * rstd * weight + bias
// Fused residual variant: res = a + b (rounded to the compute dtype), then LayerNorm(res).
// Backward, with xhat = (x - mean) * rstd and dy the upstream gradient:
//   dweight += sum_rows(dy * xhat), dbias += sum_rows(dy)
//   dx += rstd * (dy*w - mean_C(dy*w) - xhat * mean_C(dy*w*xhat))
// Forward and dx: one warp per row, 8 warps (256 threads) per block, grid ceil(N/8): a row
// of GPT-2 (C = 768..1600) is 24..50 elements per lane, and the warp reduces with shuffles
// and no shared memory or block barrier. The statistics are two passes as in the CPU op
// (the second and third passes re-read the row from L1/L2). Lanes move 16-byte packs when
// C is a multiple of the pack and the rows are 16-byte aligned; else single elements.
// dweight/dbias: column sums over fixed row chunks (column_reduce.cuh), deterministic.
#include "column_reduce.cuh"
#include "cuda_check.cuh"
#include "dtype_dispatch.cuh"
#include "layernorm.cuh"

namespace zerotune::cuda {

namespace {

constexpr int kWarpsPerBlock = 8;
constexpr float kEps = 1e-5f;

// Butterfly sum: every lane ends with the same value (a + b == b + a), in a fixed order.
__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
  for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_xor_sync(0xffffffffu, v, offset);
  return v;
}

// kResidual: in = a, and b is added (res written); else in = x and res, b are unused.
template <typename T, int N, bool kResidual>
__global__ void layernorm_forward_kernel(T* res, T* y, float* mean, float* rstd, const T* in,
                                         const T* b, const T* weight, const T* bias, int64_t rows,
                                         int64_t C) {
  const int lane = threadIdx.x % 32;
  const int64_t row = static_cast<int64_t>(blockIdx.x) * kWarpsPerBlock + threadIdx.x / 32;
  if (row >= rows) return;
  const float inv_c = 1.f / static_cast<float>(C);
  const T* x = (kResidual ? res : in) + row * C;

  float sum = 0.f;
  for (int64_t c = lane * N; c < C; c += 32 * N) {
    float v[N];
    load_pack<N>(v, in + row * C + c);
    if (kResidual) {
      float bv[N];
      load_pack<N>(bv, b + row * C + c);
#pragma unroll
      for (int k = 0; k < N; ++k) v[k] = to_float(from_float<T>(v[k] + bv[k]));
      store_pack<N>(res + row * C + c, v);  // read back below by this same lane
    }
#pragma unroll
    for (int k = 0; k < N; ++k) sum += v[k];
  }
  const float m = warp_sum(sum) * inv_c;

  float var = 0.f;
  for (int64_t c = lane * N; c < C; c += 32 * N) {
    float v[N];
    load_pack<N>(v, x + c);
#pragma unroll
    for (int k = 0; k < N; ++k) var += (v[k] - m) * (v[k] - m);
  }
  const float s = 1.f / sqrtf(warp_sum(var) * inv_c + kEps);

  for (int64_t c = lane * N; c < C; c += 32 * N) {
    float v[N], w[N], bb[N], out[N];
    load_pack<N>(v, x + c);
    load_pack<N>(w, weight + c);
    load_pack<N>(bb, bias + c);
#pragma unroll
    for (int k = 0; k < N; ++k) out[k] = (v[k] - m) * s * w[k] + bb[k];
    store_pack<N>(y + row * C + c, out);
  }
  if (lane == 0) {
    mean[row] = m;
    rstd[row] = s;
  }
}

template <typename T, int N>
__global__ void layernorm_backward_dx_kernel(T* dx, const T* dy, const T* x, const T* weight,
                                             const float* mean, const float* rstd, int64_t rows,
                                             int64_t C) {
  const int lane = threadIdx.x % 32;
  const int64_t row = static_cast<int64_t>(blockIdx.x) * kWarpsPerBlock + threadIdx.x / 32;
  if (row >= rows) return;
  const float inv_c = 1.f / static_cast<float>(C);
  const float m = mean[row], s = rstd[row];
  const T* xr = x + row * C;
  const T* dyr = dy + row * C;
  T* dxr = dx + row * C;

  float sum_dnorm = 0.f, sum_dnorm_xhat = 0.f;
  for (int64_t c = lane * N; c < C; c += 32 * N) {
    float xv[N], g[N], w[N];
    load_pack<N>(xv, xr + c);
    load_pack<N>(g, dyr + c);
    load_pack<N>(w, weight + c);
#pragma unroll
    for (int k = 0; k < N; ++k) {
      const float dnorm = g[k] * w[k];
      sum_dnorm += dnorm;
      sum_dnorm_xhat += dnorm * ((xv[k] - m) * s);
    }
  }
  const float mean_dnorm = warp_sum(sum_dnorm) * inv_c;
  const float mean_dnorm_xhat = warp_sum(sum_dnorm_xhat) * inv_c;

  for (int64_t c = lane * N; c < C; c += 32 * N) {
    float xv[N], g[N], w[N], d[N];
    load_pack<N>(xv, xr + c);
    load_pack<N>(g, dyr + c);
    load_pack<N>(w, weight + c);
    load_pack<N>(d, dxr + c);
#pragma unroll
    for (int k = 0; k < N; ++k) {
      const float xhat = (xv[k] - m) * s;
      d[k] += s * (g[k] * w[k] - mean_dnorm - xhat * mean_dnorm_xhat);
    }
    store_pack<N>(dxr + c, d);
  }
}

// Phase 1 of dweight/dbias: scratch[p][c] = sum over chunk p of dy*xhat, and
// scratch[P + p][c] = sum of dy (column_reduce.cuh for the grid).
template <typename T>
__global__ void layernorm_backward_partials_kernel(float* scratch, const T* dy, const T* x,
                                                   const float* mean, const float* rstd,
                                                   int64_t rows, int64_t C,
                                                   int64_t rows_per_partial) {
  __shared__ float shared[kColumnTile * kColumnRowLanes];
  const int64_t c = static_cast<int64_t>(blockIdx.x) * kColumnTile + threadIdx.x;
  const int64_t p = blockIdx.y, P = gridDim.y;
  const int64_t row_begin = p * rows_per_partial;
  const int64_t row_end = min(rows, row_begin + rows_per_partial);
  float acc_w = 0.f, acc_b = 0.f;
  if (c < C) {
    for (int64_t r = row_begin + threadIdx.y; r < row_end; r += kColumnRowLanes) {
      const float g = to_float(dy[r * C + c]);
      acc_w += g * ((to_float(x[r * C + c]) - mean[r]) * rstd[r]);
      acc_b += g;
    }
  }
  const float total_w = block_column_total(shared, acc_w);
  const float total_b = block_column_total(shared, acc_b);
  if (threadIdx.y == 0 && c < C) {
    scratch[p * C + c] = total_w;
    scratch[(P + p) * C + c] = total_b;
  }
}

template <typename T, bool kResidual>
void launch_forward(void* res, void* y, float* mean, float* rstd, const void* in, const void* b,
                    const void* weight, const void* bias, int64_t N, int64_t C,
                    cudaStream_t stream) {
  constexpr int P = kPack128<T>;
  const bool packed = C % P == 0 && is_aligned(y, 16) && is_aligned(in, 16) &&
                      is_aligned(weight, 16) && is_aligned(bias, 16) &&
                      (!kResidual || (is_aligned(res, 16) && is_aligned(b, 16)));
  const unsigned grid = static_cast<unsigned>((N + kWarpsPerBlock - 1) / kWarpsPerBlock);
  const auto args = [&](auto kernel) {
    kernel<<<grid, kWarpsPerBlock * 32, 0, stream>>>(
        static_cast<T*>(res), static_cast<T*>(y), mean, rstd, static_cast<const T*>(in),
        static_cast<const T*>(b), static_cast<const T*>(weight), static_cast<const T*>(bias), N, C);
  };
  if (packed) {
    args(layernorm_forward_kernel<T, P, kResidual>);
  } else {
    args(layernorm_forward_kernel<T, 1, kResidual>);
  }
  ZT_CUDA_CHECK(cudaGetLastError());
}

}  // namespace

void layernorm_forward(DType dt, void* y, float* mean, float* rstd, const void* x,
                       const void* weight, const void* bias, int64_t N, int64_t C,
                       cudaStream_t stream) {
  if (N <= 0 || C <= 0) return;
  dispatch_dtype(dt, "layernorm_forward", [&](auto tag) {
    launch_forward<typename decltype(tag)::type, false>(nullptr, y, mean, rstd, x, nullptr, weight,
                                                        bias, N, C, stream);
  });
}

void residual_layernorm_forward(DType dt, void* res, void* y, float* mean, float* rstd,
                                const void* a, const void* b, const void* weight, const void* bias,
                                int64_t N, int64_t C, cudaStream_t stream) {
  if (N <= 0 || C <= 0) return;
  dispatch_dtype(dt, "residual_layernorm_forward", [&](auto tag) {
    launch_forward<typename decltype(tag)::type, true>(res, y, mean, rstd, a, b, weight, bias, N, C,
                                                       stream);
  });
}

size_t layernorm_backward_scratch_floats(int64_t N, int64_t C) {
  return static_cast<size_t>(2 * column_partials(N) * C);
}

void layernorm_backward(DType dt, void* dx, float* dweight, float* dbias, const void* dy,
                        const void* x, const void* weight, const float* mean, const float* rstd,
                        float* scratch, int64_t N, int64_t C, cudaStream_t stream) {
  if (N <= 0 || C <= 0) return;
  const int64_t P = column_partials(N);
  dispatch_dtype(dt, "layernorm_backward", [&](auto tag) {
    using T = typename decltype(tag)::type;
    constexpr int kPack = kPack128<T>;
    const T* dyt = static_cast<const T*>(dy);
    const T* xt = static_cast<const T*>(x);
    const T* wt = static_cast<const T*>(weight);
    const bool packed = C % kPack == 0 && is_aligned(dx, 16) && is_aligned(dy, 16) &&
                        is_aligned(x, 16) && is_aligned(weight, 16);
    const unsigned grid = static_cast<unsigned>((N + kWarpsPerBlock - 1) / kWarpsPerBlock);
    if (packed) {
      layernorm_backward_dx_kernel<T, kPack><<<grid, kWarpsPerBlock * 32, 0, stream>>>(
          static_cast<T*>(dx), dyt, xt, wt, mean, rstd, N, C);
    } else {
      layernorm_backward_dx_kernel<T, 1><<<grid, kWarpsPerBlock * 32, 0, stream>>>(
          static_cast<T*>(dx), dyt, xt, wt, mean, rstd, N, C);
    }
    ZT_CUDA_CHECK(cudaGetLastError());
    const dim3 partial_grid(static_cast<unsigned>((C + kColumnTile - 1) / kColumnTile),
                            static_cast<unsigned>(P));
    layernorm_backward_partials_kernel<T>
        <<<partial_grid, dim3(kColumnTile, kColumnRowLanes), 0, stream>>>(
            scratch, dyt, xt, mean, rstd, N, C, column_rows_per_partial(N));
    ZT_CUDA_CHECK(cudaGetLastError());
  });
  const unsigned finish_grid = static_cast<unsigned>((C + 255) / 256);
  finish_column_sums_kernel<<<finish_grid, 256, 0, stream>>>(dweight, scratch, P, C);
  ZT_CUDA_CHECK(cudaGetLastError());
  finish_column_sums_kernel<<<finish_grid, 256, 0, stream>>>(dbias, scratch + P * C, P, C);
  ZT_CUDA_CHECK(cudaGetLastError());
}

}  // namespace zerotune::cuda
