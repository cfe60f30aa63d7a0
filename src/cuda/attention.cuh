// Causal multi-head self-attention on the GPU: one interface, two implementations (our own
// kernels for every dtype and build; cuDNN's fused SDPA where the build has cudnn-frontend).
// The math is exactly ops::attention_forward / attention_backward's
// (include/zerotune/ops/attention.hpp). Includable from host C++: buffers are void* in the
// compute dtype given at construction.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>
#include <memory>

#include "zerotune/base/dtype.hpp"

namespace zerotune::cuda {

// All work is enqueued on the stream given to the factory. Errors: a failing CUDA, cuBLAS or
// cuDNN call throws LibraryError naming the call; an unsupported shape or dtype (e.g. a head
// size cuDNN cannot handle) throws LibraryError too.
class Attention {
 public:
  virtual ~Attention() = default;
  virtual const char* name() const = 0;
  // Bytes kept per layer between forward and backward (the `saved` buffer): for B sequences
  // of T tokens and NH heads.
  virtual size_t saved_bytes(int64_t B, int64_t T, int64_t NH) const = 0;
  // qkv[B, T, 3C] (q | k | v along the last dim; head h owns channels h*hd .. h*hd+hd-1 of
  // each, hd = C/NH). Per batch and head, with scale = 1/sqrt(hd):
  //   att = softmax_causal(q k^T * scale),  out = att v
  // out[B, T, C] and saved (saved_bytes(B, T, NH) bytes) are OVERWRITTEN.
  virtual void forward(void* out, void* saved, const void* qkv, int64_t B, int64_t T, int64_t C,
                       int64_t NH) = 0;
  // dqkv[B, T, 3C] OVERWRITTEN, given dout[B, T, C] and the forward's qkv, out and saved:
  //   dv = att^T dout, dS = att * (dout v^T - rowsum(att * dout v^T)),
  //   dq = dS k * scale, dk = dS^T q * scale.
  virtual void backward(void* dqkv, const void* dout, const void* qkv, const void* out,
                        const void* saved, int64_t B, int64_t T, int64_t C, int64_t NH) = 0;
};

// Our own kernels (attention_own.cu): every compute dtype (fp32, bf16, fp16), every build;
// saved = the probabilities [B, NH, T, T] in the compute dtype. Its scratch buffers come from
// cudaMallocAsync, grow when a larger shape arrives and are freed by the destructor.
std::unique_ptr<Attention> make_own_attention(DType dt, cudaStream_t stream);

// cuDNN's fused flash attention through cudnn-frontend (attention_cudnn.cu): bf16 and fp16;
// saved = the softmax statistics (log-sum-exp) fp32 [B, NH, T]. Head size a multiple of 8, at
// most 128. nullptr when the build has no cudnn-frontend (ZEROTUNE_WITH_CUDNN unset) or dt is
// fp32 (the fallback is make_own_attention).
std::unique_ptr<Attention> make_cudnn_attention(DType dt, cudaStream_t stream);

}  // namespace zerotune::cuda
