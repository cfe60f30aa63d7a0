// The ops a model's forward and backward are written against, so that one GPT-2 sequence
// (src/model/gpt2_model.cpp) runs on the CPU (ops/*.cpp, the reference) and on the GPU
// (cuda/*.cu). Each op's math and shapes are those of the CPU op of the same name in
// include/zerotune/ops/; this page only says what differs: the element types and who owns
// scratch memory.
//
// Element types. A backend has a compute dtype (parameters as the model reads them, and
// activations) and an accumulation dtype (parameter gradients, LayerNorm statistics,
// per-row log-sum-exp). The CPU backend uses T for both (float for training, double for
// finite-difference checks); the GPU backend computes in bf16, fp16 or fp32 and
// accumulates in fp32. Pointers are untyped: "A" below is compute dtype, "G" accumulation
// dtype. Token ids and targets are int32 in the backend's memory (upload_tokens puts them
// there). All work is ordered on the backend's stream; only the calls that return a host
// value (softmax_xent_forward's loss sum, sum_of_squares) wait for it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "zerotune/base/dtype.hpp"
#include "zerotune/runtime/device.hpp"

namespace zerotune::ops {

// The optimizer's rule and hyper-parameters for one update call (see train/optimizer.hpp).
struct UpdateRule {
  bool adamw = true;  // else SGD with momentum
  double lr = 0, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, momentum = 0, weight_decay = 0;
  double grad_scale = 1.0;  // gradient used as grad * grad_scale (loss scale, clipping)
  int64_t step = 1;         // 1 for the first step (Adam's bias correction, SGD's first buffer)
};

// A run of elements [begin, begin + count) of an update range that shares weight decay.
struct UpdateSegment {
  int64_t begin = 0;
  int64_t count = 0;
  bool weight_decay = false;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual const char* name() const = 0;
  virtual DType compute_dtype() const = 0;
  virtual DType accum_dtype() const = 0;
  virtual runtime::Device& device() = 0;

  // Row stride of the logits buffer for a vocabulary of V (>= V; padded on the GPU so rows
  // stay aligned for tensor cores).
  virtual int64_t logits_stride(int64_t V) const { return V; }

  // dst[n] (backend memory) = host[n].
  virtual void upload_tokens(int32_t* dst, const int32_t* host, int64_t n) = 0;

  // out[B,T,C] = wte[ids] + wpe[t]. ids in backend memory.
  virtual void embedding_forward(void* out, const int32_t* ids, const void* wte, const void* wpe,
                                 int64_t B, int64_t T, int64_t C) = 0;
  // dwte [V,C], dwpe (G) += scatter of dout (A). ids_host: the same ids in host memory (the
  // GPU groups positions by token there, for a deterministic sum).
  virtual void embedding_backward(void* dwte, void* dwpe, const void* dout, const int32_t* ids,
                                  const int32_t* ids_host, int64_t B, int64_t T, int64_t C,
                                  int64_t V) = 0;

  // y = LayerNorm(x); mean, rstd [N] (G).
  virtual void layernorm_forward(void* y, void* mean, void* rstd, const void* x, const void* w,
                                 const void* b, int64_t N, int64_t C) = 0;
  // res = a + b, then y = LayerNorm(res): the residual add fused with the next norm.
  virtual void residual_layernorm_forward(void* res, void* y, void* mean, void* rstd, const void* a,
                                          const void* b, const void* w, const void* bias, int64_t N,
                                          int64_t C) = 0;
  // dx (A) +=, dw, db (G) +=.
  virtual void layernorm_backward(void* dx, void* dw, void* db, const void* dy, const void* x,
                                  const void* w, const void* mean, const void* rstd, int64_t N,
                                  int64_t C) = 0;

  // y[N,OC] = x @ w + b. With gelu_pre: gelu_pre = x @ w + b and y = gelu(gelu_pre).
  virtual void matmul_forward(void* y, const void* x, const void* w, const void* b, int64_t N,
                              int64_t IC, int64_t OC, void* gelu_pre = nullptr) = 0;
  // dx (A, overwritten) = dy @ w^T; dw, db (G) +=.
  virtual void matmul_backward(void* dx, void* dw, void* db, const void* dy, const void* x,
                               const void* w, int64_t N, int64_t IC, int64_t OC) = 0;
  // dx = dy * gelu'(x); dx may alias dy.
  virtual void gelu_backward(void* dx, const void* x, const void* dy, int64_t n) = 0;

  // Causal self-attention on qkv[B,T,3C]. `saved` holds attention_saved_bytes per layer.
  virtual size_t attention_saved_bytes(int64_t B, int64_t T, int64_t NH) const = 0;
  virtual void attention_forward(void* out, void* saved, const void* qkv, int64_t B, int64_t T,
                                 int64_t C, int64_t NH) = 0;
  // Decoding with a KV cache (ops/attention.hpp attention_forward_cached): kv [B, 2, maxT, C]
  // (A) gains the k and v of qkv's Tq positions at past.., out [B, Tq, C] their attention over
  // positions 0..past+i. The CPU backend runs the CPU op; this default, for a backend without
  // a kernel of its own, stages the buffers through host memory and runs the CPU op there
  // (fp32 compute only; still one position's work per new token, plus the copies).
  virtual void attention_forward_cached(void* out, void* kv, const void* qkv, int64_t B,
                                        int64_t past, int64_t Tq, int64_t maxT, int64_t C,
                                        int64_t NH);
  // dqkv (A) overwritten.
  virtual void attention_backward(void* dqkv, const void* dout, const void* qkv, const void* out,
                                  const void* saved, int64_t B, int64_t T, int64_t C,
                                  int64_t NH) = 0;

  // logits[N, logits_stride(V)] = x @ wte^T (first V columns).
  virtual void lm_head_forward(void* logits, const void* x, const void* wte, int64_t N, int64_t C,
                               int64_t V) = 0;
  // dx (A) overwritten; dwte (G) +=. dlogits has the logits' stride.
  virtual void lm_head_backward(void* dx, void* dwte, const void* dlogits, const void* x,
                                const void* wte, int64_t N, int64_t C, int64_t V) = 0;
  // lse [N] (G). Returns the sum of the counted rows' losses (waits for the device).
  virtual double softmax_xent_forward(void* lse, const void* logits, const int32_t* targets,
                                      int64_t N, int64_t V) = 0;
  // dlogits may alias logits (in place).
  virtual void softmax_xent_backward(void* dlogits, const void* logits, const void* lse,
                                     const int32_t* targets, double dloss, int64_t N,
                                     int64_t V) = 0;

  // --- Optimizer side (fp32 master weights, gradients and state; the engine's buffers) ---
  // Updates master[n] from grad[n] and the rule's state (s0: Adam m or SGD momentum, s1:
  // Adam v), one call per unit range split into weight-decay segments. When compute_copy is
  // not null, also writes the updated parameters rounded to compute_dtype() there.
  virtual void optimizer_update(float* master, const float* grad, float* s0, float* s1,
                                void* compute_copy, int64_t n,
                                const std::vector<UpdateSegment>& segments,
                                const UpdateRule& rule) = 0;
  // sum over the spans of x^2, in double (waits for the device).
  struct Span {
    const float* data;
    int64_t count;
  };
  virtual double sum_of_squares(const std::vector<Span>& spans) = 0;
  // dst (compute dtype) = src (fp32) rounded; dst may be the same memory only for fp32.
  virtual void cast_from_float(void* dst, const float* src, int64_t n) = 0;
  // dst (fp32) = src (compute dtype) widened exactly; the same memory only for fp32.
  virtual void cast_to_float(float* dst, const void* src, int64_t n) = 0;
  // dst[n] += src[n], fp32 (gradient accumulation across micro-batches).
  virtual void accumulate(float* dst, const float* src, int64_t n) = 0;
};

// The CPU backend in float (training) or double (finite-difference and reference checks).
std::unique_ptr<Backend> make_cpu_backend(DType dtype);

// The GPU backend (src/cuda/cuda_backend.cu) on a CUDA device, computing in bf16, fp16 or
// fp32: cuBLASLt matmuls, cuDNN attention where built (our kernel otherwise and for fp32).
// Only in CUDA builds.
std::unique_ptr<Backend> make_cuda_backend(runtime::Device& device, DType dtype);

// The backend for a device: the CPU one (fp32 only) for host devices, the CUDA one otherwise.
// Throws InputError for a precision the device cannot compute in.
std::unique_ptr<Backend> make_backend(runtime::Device& device, DType dtype);

}  // namespace zerotune::ops
