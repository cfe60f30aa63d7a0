// Token + position embedding, ids [B,T], wte [V,C], wpe [T,C], out and dout [B,T,C]:
//   forward:  out[b,t,:] = wte[ids[b,t],:] + wpe[t,:]
//   backward: dwte[v,:] += sum_{(b,t): ids[b,t] = v} dout[b,t,:]
//             dwpe[t,:] += sum_b dout[b,t,:]
// Forward grid: 256 threads over B*T*C elements in packs of 16 bytes (C a multiple of the
// pack and 16-byte aligned rows; else element by element), grid-stride, capped at a few waves.
// Backward without atomics: the host groups positions by token (embedding_groups.hpp). Grid
// (groups + T, ceil(C/256)), one launch: x picks a token group or a position t, y a chunk of
// 256 columns, one thread per column; each thread adds its column of the group's rows in
// ascending position order onto the gradient it loaded, which is also the CPU op's order. Every
// gradient element has exactly one writer, so the result is bit-identical run to run.
#include "cuda_check.cuh"
#include "dtype_dispatch.cuh"
#include "embedding.cuh"

namespace zerotune::cuda {

namespace {

constexpr int kForwardThreads = 256;
constexpr int kBackwardThreads = 256;

template <typename T, int N>
__global__ void embedding_forward_kernel(T* out, const int32_t* ids, const T* wte, const T* wpe,
                                         int64_t BT, int64_t T_len, int64_t C) {
  const int64_t total = BT * C;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x * N;
  for (int64_t i = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) * N; i < total;
       i += stride) {
    const int64_t bt = i / C;
    const int64_t c = i - bt * C;  // N divides C, so the pack stays in one row
    const int64_t t = bt % T_len;
    const int64_t tok = ids[bt];
    float a[N], p[N], r[N];
    load_pack<N>(a, wte + tok * C + c);
    load_pack<N>(p, wpe + t * C + c);
#pragma unroll
    for (int k = 0; k < N; ++k) r[k] = a[k] + p[k];
    store_pack<N>(out + i, r);
  }
}

template <typename T>
__global__ void embedding_backward_kernel(float* dwte, float* dwpe, const T* dout,
                                          const int32_t* order, const int32_t* group_tokens,
                                          const int32_t* group_starts, int64_t groups, int64_t B,
                                          int64_t T_len, int64_t C) {
  const int64_t block = blockIdx.x;
  const int64_t c = static_cast<int64_t>(blockIdx.y) * blockDim.x + threadIdx.x;
  if (c >= C) return;
  if (block < groups) {
    const int64_t tok = group_tokens[block];
    const int64_t begin = group_starts[block], end = group_starts[block + 1];
    float acc = dwte[tok * C + c];
    int64_t k = begin;
    // Four loads in flight before the (in-order) adds: a frequent token (padding, EOS) has
    // thousands of positions.
    for (; k + 4 <= end; k += 4) {
      const float v0 = to_float(dout[int64_t(order[k]) * C + c]);
      const float v1 = to_float(dout[int64_t(order[k + 1]) * C + c]);
      const float v2 = to_float(dout[int64_t(order[k + 2]) * C + c]);
      const float v3 = to_float(dout[int64_t(order[k + 3]) * C + c]);
      acc += v0;
      acc += v1;
      acc += v2;
      acc += v3;
    }
    for (; k < end; ++k) acc += to_float(dout[int64_t(order[k]) * C + c]);
    dwte[tok * C + c] = acc;
  } else {
    const int64_t t = block - groups;
    float acc = dwpe[t * C + c];
    for (int64_t b = 0; b < B; ++b) acc += to_float(dout[(b * T_len + t) * C + c]);
    dwpe[t * C + c] = acc;
  }
}

}  // namespace

void embedding_forward(DType dt, void* out, const int32_t* ids, const void* wte, const void* wpe,
                       int64_t B, int64_t T, int64_t C, cudaStream_t stream) {
  if (B <= 0 || T <= 0 || C <= 0) return;
  dispatch_dtype(dt, "embedding_forward", [&](auto tag) {
    using E = typename decltype(tag)::type;
    constexpr int N = kPack128<E>;
    const bool packed =
        C % N == 0 && is_aligned(out, 16) && is_aligned(wte, 16) && is_aligned(wpe, 16);
    const int64_t work = B * T * C;
    if (packed) {
      embedding_forward_kernel<E, N>
          <<<grid_for(work / N, kForwardThreads), kForwardThreads, 0, stream>>>(
              static_cast<E*>(out), ids, static_cast<const E*>(wte), static_cast<const E*>(wpe),
              B * T, T, C);
    } else {
      embedding_forward_kernel<E, 1>
          <<<grid_for(work, kForwardThreads), kForwardThreads, 0, stream>>>(
              static_cast<E*>(out), ids, static_cast<const E*>(wte), static_cast<const E*>(wpe),
              B * T, T, C);
    }
    ZT_CUDA_CHECK(cudaGetLastError());
  });
}

void embedding_backward(DType dt, float* dwte, float* dwpe, const void* dout, const int32_t* order,
                        const int32_t* group_tokens, const int32_t* group_starts, int64_t groups,
                        int64_t B, int64_t T, int64_t C, cudaStream_t stream) {
  if (B <= 0 || T <= 0 || C <= 0) return;
  dispatch_dtype(dt, "embedding_backward", [&](auto tag) {
    using E = typename decltype(tag)::type;
    const dim3 grid(static_cast<unsigned>(groups + T),
                    static_cast<unsigned>((C + kBackwardThreads - 1) / kBackwardThreads));
    embedding_backward_kernel<E>
        <<<grid, kBackwardThreads, 0, stream>>>(dwte, dwpe, static_cast<const E*>(dout), order,
                                                group_tokens, group_starts, groups, B, T, C);
    ZT_CUDA_CHECK(cudaGetLastError());
  });
}

}  // namespace zerotune::cuda
