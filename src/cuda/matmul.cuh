// Dense layers and the tied LM head on the GPU through cuBLASLt, with the row-major shapes of
// ops::matmul_* and ops::lm_head_* (include/zerotune/ops/matmul.hpp, lm_head.hpp); weights are
// stored [in, out] as Hugging Face's Conv1D stores them. Includable from host C++: buffers are
// void* in the compute dtype, parameter gradients are always fp32.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>
#include <memory>

#include "zerotune/base/dtype.hpp"

namespace zerotune::cuda {

// Owns a cuBLASLt handle and a 32 MiB workspace (stream-ordered, allocated once); all work is
// enqueued on the stream given at construction. Products accumulate in fp32; fp32 compute is
// strict fp32 (no TF32: it is the exactness reference). The algorithm for each shape is the
// first heuristic result, queried once and cached, so a step does no queries after the first
// and the same shape always runs the same algorithm (results are bit-identical run to run).
// Errors: any failing CUDA or cuBLAS call throws LibraryError naming the call.
class Matmul {
 public:
  // compute_dtype: kFloat32, kBFloat16 or kFloat16 (anything else throws LibraryError).
  Matmul(DType compute_dtype, cudaStream_t stream);
  ~Matmul();
  Matmul(const Matmul&) = delete;
  Matmul& operator=(const Matmul&) = delete;

  // y[N, OC] = x[N, IC] @ w[IC, OC] (+ b[OC] if b), all in the compute dtype; y OVERWRITTEN.
  // If gelu_pre != nullptr: gelu_pre[N, OC] = x @ w + b and y = gelu_tanh(gelu_pre), fused in
  // the cuBLASLt GELU_AUX(_BIAS) epilogue (GPT-2's tanh approximation, as ops::gelu); cuBLASLt
  // needs OC divisible by 8 there (LibraryError otherwise).
  void forward(void* y, const void* x, const void* w, const void* b, int64_t N, int64_t IC,
               int64_t OC, void* gelu_pre = nullptr);

  // With dy[N, OC] (compute dtype) the upstream gradient:
  //   dx[N, IC]  = dy @ w^T          compute dtype, OVERWRITTEN (skipped if dx is null)
  //   dw[IC, OC] += x^T @ dy         fp32, ACCUMULATED (cuBLASLt with fp32 C/D and beta = 1)
  //   db[OC]     += sum_rows(dy)     fp32, ACCUMULATED (skipped if db is null) by our own
  //                                  column-sum kernel, whose fixed summation order keeps it
  //                                  deterministic (cuBLASLt's BGRADB would need a scratch).
  void backward(void* dx, float* dw, float* db, const void* dy, const void* x, const void* w,
                int64_t N, int64_t IC, int64_t OC);

  // Tied LM head: logits[N, ld] (its first V columns; the padding columns are not written)
  //   = x[N, C] @ wte[V, C]^T, compute dtype. ld >= V pads rows to keep them aligned for the
  //   tensor cores (e.g. ld = round_up(V, 64)).
  void lm_head_forward(void* logits, const void* x, const void* wte, int64_t N, int64_t C,
                       int64_t V, int64_t ld);

  // With dlogits[N, ld] (first V columns read):
  //   dx[N, C]    = dlogits @ wte        compute dtype, OVERWRITTEN
  //   dwte[V, C] += dlogits^T @ x        fp32, ACCUMULATED
  void lm_head_backward(void* dx, float* dwte, const void* dlogits, const void* x, const void* wte,
                        int64_t N, int64_t C, int64_t V, int64_t ld);

  DType compute_dtype() const { return dtype_; }

 private:
  struct State;
  DType dtype_;
  cudaStream_t stream_;
  std::unique_ptr<State> state_;
};

}  // namespace zerotune::cuda
