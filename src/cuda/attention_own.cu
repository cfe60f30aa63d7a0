// Our own causal self-attention (llm.c's original scheme): every dtype, every build.
//
// Shapes: qkv[B, T, 3C], out[B, T, C], heads of hd = C/NH channels, scale = 1/sqrt(hd).
// Forward:
//   q, k, v [B*NH, T, hd]   = the head-major copies of qkv's three parts        (permute)
//   S   [B*NH, T, T] fp32   = scale * q k^T                      (strided-batched cuBLAS GEMM)
//   att [B*NH, T, T]        = softmax over s <= t of S[t, s]; 0 for s > t        (saved)
//   y   [B*NH, T, hd]       = att v                                             (GEMM)
//   out [B, T, C]           = y with heads back in place                        (unpermute)
// Backward, with dy = dout in head-major order:
//   dA  [B*NH, T, T] fp32   = dy v^T                                            (GEMM)
//   dv                      = att^T dy                                          (GEMM)
//   dS[t, s]                = att[t, s] * (dA[t, s] - sum_s' att[t, s'] dA[t, s'])
//   dq = scale * dS k,  dk = scale * dS^T q                                     (GEMMs)
//   dqkv[B, T, 3C]          = dq | dk | dv with heads back in place             (unpermute)
// The scores are fp32 (the GEMMs accumulate in fp32 and write fp32) so the softmax sees them
// unrounded; att, dS and the head-major copies are in the compute dtype (what cuBLAS reads).
//
// cuBLAS is column-major: a row-major [R, S] block is read as its transpose (ld = S), so
// row-major P = X Y^T is issued as P^T = Y X^T, and so on (see each call).
// Softmax kernels: one warp per row of T scores (8 rows per 256-thread block); the max and
// the sums are butterfly shuffles over the warp, so the order of every sum is fixed (no
// atomics, no shared memory): deterministic and free of shared-memory races.
#include <cublas_v2.h>

#include <cmath>

#include "attention.cuh"
#include "compute_types.cuh"
#include "cublas_check.cuh"
#include "cuda_check.cuh"

namespace zerotune::cuda {

namespace {

constexpr int kThreads = 256;
constexpr int kRowsPerBlock = kThreads / 32;

__device__ __forceinline__ float warp_max(float v) {
  for (int offset = 16; offset > 0; offset /= 2)
    v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, offset));
  return v;
}

__device__ __forceinline__ float warp_sum(float v) {
  for (int offset = 16; offset > 0; offset /= 2) v += __shfl_xor_sync(0xffffffffu, v, offset);
  return v;
}

// heads[b*NH + h, t, d] = rows[(b*T + t) * row_stride + h*hd + d]
template <typename T>
__global__ void heads_from_rows_kernel(T* heads, const T* rows, int64_t row_stride, int64_t B,
                                       int64_t Tlen, int64_t NH, int64_t hd) {
  const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= B * NH * Tlen * hd) return;
  const int64_t d = i % hd, t = (i / hd) % Tlen, h = (i / (hd * Tlen)) % NH;
  const int64_t b = i / (hd * Tlen * NH);
  heads[i] = rows[(b * Tlen + t) * row_stride + h * hd + d];
}

// rows[(b*T + t) * row_stride + h*hd + d] = heads[b*NH + h, t, d]
template <typename T>
__global__ void rows_from_heads_kernel(T* rows, int64_t row_stride, const T* heads, int64_t B,
                                       int64_t Tlen, int64_t NH, int64_t hd) {
  const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= B * NH * Tlen * hd) return;
  const int64_t d = i % hd, t = (i / hd) % Tlen, h = (i / (hd * Tlen)) % NH;
  const int64_t b = i / (hd * Tlen * NH);
  rows[(b * Tlen + t) * row_stride + h * hd + d] = heads[i];
}

// att[r, s] = exp(S[r, s] - max) / sum for s <= t (t = r % T), else 0. One warp per row r.
template <typename T>
__global__ void causal_softmax_forward_kernel(T* att, const float* scores, int64_t rows,
                                              int64_t Tlen) {
  const int64_t r = int64_t(blockIdx.x) * kRowsPerBlock + threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  if (r >= rows) return;  // whole warps leave together: r is uniform across the warp
  const int64_t t = r % Tlen;
  const float* s = scores + r * Tlen;
  float m = -INFINITY;
  for (int64_t j = lane; j <= t; j += 32) m = fmaxf(m, s[j]);
  m = warp_max(m);
  float sum = 0.f;
  for (int64_t j = lane; j <= t; j += 32) sum += expf(s[j] - m);
  const float inv_sum = 1.f / warp_sum(sum);
  T* a = att + r * Tlen;
  for (int64_t j = lane; j < Tlen; j += 32) {
    a[j] = from_float<T>(j <= t ? expf(s[j] - m) * inv_sum : 0.f);
  }
}

// dS[r, s] = att[r, s] * (dA[r, s] - sum_{s' <= t} att[r, s'] dA[r, s']) for s <= t, else 0.
template <typename T>
__global__ void causal_softmax_backward_kernel(T* dscores, const T* att, const float* datt,
                                               int64_t rows, int64_t Tlen) {
  const int64_t r = int64_t(blockIdx.x) * kRowsPerBlock + threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  if (r >= rows) return;
  const int64_t t = r % Tlen;
  const T* a = att + r * Tlen;
  const float* da = datt + r * Tlen;
  float dot = 0.f;
  for (int64_t j = lane; j <= t; j += 32) dot += to_float(a[j]) * da[j];
  dot = warp_sum(dot);
  T* ds = dscores + r * Tlen;
  for (int64_t j = lane; j < Tlen; j += 32) {
    ds[j] = from_float<T>(j <= t ? to_float(a[j]) * (da[j] - dot) : 0.f);
  }
}

unsigned blocks_for(int64_t n, int64_t per_block) {
  return static_cast<unsigned>((n + per_block - 1) / per_block);
}

size_t round_up_256(size_t bytes) { return (bytes + 255) / 256 * 256; }

class OwnAttention : public Attention {
 public:
  OwnAttention(DType dt, cudaStream_t stream)
      : dt_(dt), type_(cuda_data_type(dt)), stream_(stream) {
    ZT_CUBLAS_CHECK(cublasCreate(&handle_));
    try {
      ZT_CUBLAS_CHECK(cublasSetStream(handle_, stream_));
      // fp32 is the exactness reference: never let cuBLAS round inputs to TF32.
      ZT_CUBLAS_CHECK(cublasSetMathMode(handle_, CUBLAS_DEFAULT_MATH));
    } catch (...) {
      cublasDestroy(handle_);
      throw;
    }
  }
  ~OwnAttention() override {
    // Destructors do not throw: a failure here surfaces at the next checked call.
    if (scratch_) cudaFreeAsync(scratch_, stream_);
    cublasDestroy(handle_);
  }

  const char* name() const override { return "own"; }

  size_t saved_bytes(int64_t B, int64_t T, int64_t NH) const override {
    return size_t(B * NH * T * T) * dtype_bytes(dt_);
  }

  void forward(void* out, void* saved, const void* qkv, int64_t B, int64_t T, int64_t C,
               int64_t NH) override {
    dispatch_compute_type(
        dt_, [&](auto tag) { forward_typed<decltype(tag)>(out, saved, qkv, B, T, C, NH); });
  }

  void backward(void* dqkv, const void* dout, const void* qkv, const void*, const void* saved,
                int64_t B, int64_t T, int64_t C, int64_t NH) override {
    dispatch_compute_type(
        dt_, [&](auto tag) { backward_typed<decltype(tag)>(dqkv, dout, qkv, saved, B, T, C, NH); });
  }

 private:
  // Scratch: `heads` head-major [B*NH, T, hd] blocks in the compute dtype, one fp32 and
  // (backward) one compute-dtype [B*NH, T, T] block. Grows stream-ordered, never shrinks.
  struct Scratch {
    char* heads;
    float* scores;
    char* dscores;
  };
  Scratch scratch(int64_t B, int64_t T, int64_t C, int64_t NH, int head_blocks, bool with_dscores) {
    const size_t elem = dtype_bytes(dt_);
    const size_t head_bytes = round_up_256(size_t(B * T * C) * elem);
    const size_t score_elems = size_t(B * NH) * size_t(T) * size_t(T);
    const size_t score_bytes = round_up_256(score_elems * sizeof(float));
    const size_t dscore_bytes = with_dscores ? round_up_256(score_elems * elem) : 0;
    const size_t total = head_blocks * head_bytes + score_bytes + dscore_bytes;
    if (total > scratch_bytes_) {
      void* old = scratch_;
      scratch_ = nullptr;
      scratch_bytes_ = 0;
      if (old) ZT_CUDA_CHECK(cudaFreeAsync(old, stream_));
      ZT_CUDA_CHECK(cudaMallocAsync(&scratch_, total, stream_));
      scratch_bytes_ = total;
    }
    char* base = static_cast<char*>(scratch_);
    return {base, reinterpret_cast<float*>(base + head_blocks * head_bytes),
            base + head_blocks * head_bytes + score_bytes};
  }

  // One strided-batched product per (b, h): C = alpha op(A) op(B), fp32 accumulate.
  void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const void* a,
            int64_t lda, int64_t stride_a, const void* b, int64_t ldb, int64_t stride_b, void* c,
            cudaDataType_t c_type, int64_t ldc, int64_t stride_c, int64_t batch) {
    const float beta = 0.f;
    ZT_CUBLAS_CHECK(cublasGemmStridedBatchedEx(
        handle_, trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, int(m),
        int(n), int(k), &alpha, a, type_, int(lda), stride_a, b, type_, int(ldb), stride_b, &beta,
        c, c_type, int(ldc), stride_c, int(batch), CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
  }

  template <typename T>
  void to_heads(T* heads, const T* rows, int64_t row_stride, int64_t B, int64_t Tlen, int64_t NH,
                int64_t hd) {
    heads_from_rows_kernel<T><<<blocks_for(B * NH * Tlen * hd, kThreads), kThreads, 0, stream_>>>(
        heads, rows, row_stride, B, Tlen, NH, hd);
    ZT_CUDA_CHECK(cudaGetLastError());
  }

  template <typename T>
  void to_rows(T* rows, int64_t row_stride, const T* heads, int64_t B, int64_t Tlen, int64_t NH,
               int64_t hd) {
    rows_from_heads_kernel<T><<<blocks_for(B * NH * Tlen * hd, kThreads), kThreads, 0, stream_>>>(
        rows, row_stride, heads, B, Tlen, NH, hd);
    ZT_CUDA_CHECK(cudaGetLastError());
  }

  template <typename T>
  void forward_typed(void* out_v, void* saved_v, const void* qkv_v, int64_t B, int64_t Tlen,
                     int64_t C, int64_t NH) {
    if (B * Tlen * C == 0) return;
    const int64_t hd = C / NH, BH = B * NH, sT = Tlen * hd, sTT = Tlen * Tlen;
    const float scale = 1.f / std::sqrt(float(hd));
    auto* out = static_cast<T*>(out_v);
    auto* att = static_cast<T*>(saved_v);
    const auto* qkv = static_cast<const T*>(qkv_v);
    Scratch s = scratch(B, Tlen, C, NH, 4, false);
    const size_t head_elems = round_up_256(size_t(B * Tlen * C) * sizeof(T)) / sizeof(T);
    T* q = reinterpret_cast<T*>(s.heads);
    T* k = q + head_elems;
    T* v = k + head_elems;
    T* y = v + head_elems;
    to_heads(q, qkv, 3 * C, B, Tlen, NH, hd);
    to_heads(k, qkv + C, 3 * C, B, Tlen, NH, hd);
    to_heads(v, qkv + 2 * C, 3 * C, B, Tlen, NH, hd);
    // S^T (col-major T x T) = k' ^T q', k' and q' the [T, hd] blocks read as hd x T.
    gemm(true, false, Tlen, Tlen, hd, scale, k, hd, sT, q, hd, sT, s.scores, CUDA_R_32F, Tlen, sTT,
         BH);
    causal_softmax_forward_kernel<T>
        <<<blocks_for(BH * Tlen, kRowsPerBlock), kThreads, 0, stream_>>>(att, s.scores, BH * Tlen,
                                                                         Tlen);
    ZT_CUDA_CHECK(cudaGetLastError());
    // y^T (hd x T) = v' att', att' = att^T read col-major with ld T.
    gemm(false, false, hd, Tlen, Tlen, 1.f, v, hd, sT, att, Tlen, sTT, y, type_, hd, sT, BH);
    to_rows(out, C, y, B, Tlen, NH, hd);
  }

  template <typename T>
  void backward_typed(void* dqkv_v, const void* dout_v, const void* qkv_v, const void* saved_v,
                      int64_t B, int64_t Tlen, int64_t C, int64_t NH) {
    if (B * Tlen * C == 0) return;
    const int64_t hd = C / NH, BH = B * NH, sT = Tlen * hd, sTT = Tlen * Tlen;
    const float scale = 1.f / std::sqrt(float(hd));
    auto* dqkv = static_cast<T*>(dqkv_v);
    const auto* dout = static_cast<const T*>(dout_v);
    const auto* qkv = static_cast<const T*>(qkv_v);
    const auto* att = static_cast<const T*>(saved_v);
    Scratch s = scratch(B, Tlen, C, NH, 7, true);
    const size_t head_elems = round_up_256(size_t(B * Tlen * C) * sizeof(T)) / sizeof(T);
    T* q = reinterpret_cast<T*>(s.heads);
    T* k = q + head_elems;
    T* v = k + head_elems;
    T* dy = v + head_elems;
    T* dq = dy + head_elems;
    T* dk = dq + head_elems;
    T* dv = dk + head_elems;
    T* dscores = reinterpret_cast<T*>(s.dscores);
    to_heads(q, qkv, 3 * C, B, Tlen, NH, hd);
    to_heads(k, qkv + C, 3 * C, B, Tlen, NH, hd);
    to_heads(v, qkv + 2 * C, 3 * C, B, Tlen, NH, hd);
    to_heads(dy, dout, C, B, Tlen, NH, hd);
    // dA = dy v^T:  dA^T = v'^T dy'.
    gemm(true, false, Tlen, Tlen, hd, 1.f, v, hd, sT, dy, hd, sT, s.scores, CUDA_R_32F, Tlen, sTT,
         BH);
    // dv = att^T dy:  dv^T = dy' att'^T.
    gemm(false, true, hd, Tlen, Tlen, 1.f, dy, hd, sT, att, Tlen, sTT, dv, type_, hd, sT, BH);
    causal_softmax_backward_kernel<T>
        <<<blocks_for(BH * Tlen, kRowsPerBlock), kThreads, 0, stream_>>>(dscores, att, s.scores,
                                                                         BH * Tlen, Tlen);
    ZT_CUDA_CHECK(cudaGetLastError());
    // dq = scale dS k:  dq^T = k' dS'.   dk = scale dS^T q:  dk^T = q' dS'^T.
    gemm(false, false, hd, Tlen, Tlen, scale, k, hd, sT, dscores, Tlen, sTT, dq, type_, hd, sT, BH);
    gemm(false, true, hd, Tlen, Tlen, scale, q, hd, sT, dscores, Tlen, sTT, dk, type_, hd, sT, BH);
    to_rows(dqkv, 3 * C, dq, B, Tlen, NH, hd);
    to_rows(dqkv + C, 3 * C, dk, B, Tlen, NH, hd);
    to_rows(dqkv + 2 * C, 3 * C, dv, B, Tlen, NH, hd);
  }

  DType dt_;
  cudaDataType_t type_;
  cudaStream_t stream_;
  cublasHandle_t handle_ = nullptr;
  void* scratch_ = nullptr;
  size_t scratch_bytes_ = 0;
};

}  // namespace

std::unique_ptr<Attention> make_own_attention(DType dt, cudaStream_t stream) {
  return std::make_unique<OwnAttention>(dt, stream);
}

#ifndef ZEROTUNE_WITH_CUDNN
// Built without cudnn-frontend: attention_cudnn.cu is left out and callers fall back.
std::unique_ptr<Attention> make_cudnn_attention(DType, cudaStream_t) { return nullptr; }
#endif

}  // namespace zerotune::cuda
