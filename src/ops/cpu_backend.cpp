// The CPU backend: the reference ops of this folder behind ops::Backend, in float or double.
// Compute and accumulation dtype are both T; the fused entry points (residual + LayerNorm,
// matmul + GELU) run the two CPU ops one after the other.
#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "zerotune/ops/adamw.hpp"
#include "zerotune/ops/attention.hpp"
#include "zerotune/ops/backend.hpp"
#include "zerotune/ops/embedding.hpp"
#include "zerotune/ops/gelu.hpp"
#include "zerotune/ops/layernorm.hpp"
#include "zerotune/ops/lm_head.hpp"
#include "zerotune/ops/matmul.hpp"
#include "zerotune/ops/residual.hpp"
#include "zerotune/ops/sgd.hpp"
#include "zerotune/ops/softmax_xent.hpp"

namespace zerotune::ops {

namespace {

template <typename T>
const T* in(const void* p) {
  return static_cast<const T*>(p);
}
template <typename T>
T* out(void* p) {
  return static_cast<T*>(p);
}

template <typename T>
class CpuBackend : public Backend {
 public:
  const char* name() const override { return "cpu"; }
  DType compute_dtype() const override {
    return sizeof(T) == 8 ? DType::kFloat64 : DType::kFloat32;
  }
  DType accum_dtype() const override { return compute_dtype(); }
  runtime::Device& device() override { return runtime::cpu_device(); }

  void upload_tokens(int32_t* dst, const int32_t* host, int64_t n) override {
    if (dst != host) std::memcpy(dst, host, static_cast<size_t>(n) * sizeof(int32_t));
  }

  void embedding_forward(void* o, const int32_t* ids, const void* wte, const void* wpe, int64_t B,
                         int64_t T_, int64_t C) override {
    ops::embedding_forward(out<T>(o), ids, in<T>(wte), in<T>(wpe), B, T_, C);
  }
  void embedding_backward(void* dwte, void* dwpe, const void* dout, const int32_t* ids,
                          const int32_t*, int64_t B, int64_t T_, int64_t C, int64_t) override {
    ops::embedding_backward(out<T>(dwte), out<T>(dwpe), in<T>(dout), ids, B, T_, C);
  }

  void layernorm_forward(void* y, void* mean, void* rstd, const void* x, const void* w,
                         const void* b, int64_t N, int64_t C) override {
    ops::layernorm_forward(out<T>(y), out<T>(mean), out<T>(rstd), in<T>(x), in<T>(w), in<T>(b), N,
                           C);
  }
  void residual_layernorm_forward(void* res, void* y, void* mean, void* rstd, const void* a,
                                  const void* b, const void* w, const void* bias, int64_t N,
                                  int64_t C) override {
    ops::residual_forward(out<T>(res), in<T>(a), in<T>(b), N * C);
    layernorm_forward(y, mean, rstd, res, w, bias, N, C);
  }
  void layernorm_backward(void* dx, void* dw, void* db, const void* dy, const void* x,
                          const void* w, const void* mean, const void* rstd, int64_t N,
                          int64_t C) override {
    ops::layernorm_backward(out<T>(dx), out<T>(dw), out<T>(db), in<T>(dy), in<T>(x), in<T>(w),
                            in<T>(mean), in<T>(rstd), N, C);
  }

  void matmul_forward(void* y, const void* x, const void* w, const void* b, int64_t N, int64_t IC,
                      int64_t OC, void* gelu_pre) override {
    if (gelu_pre == nullptr) {
      ops::matmul_forward(out<T>(y), in<T>(x), in<T>(w), in<T>(b), N, IC, OC);
      return;
    }
    ops::matmul_forward(out<T>(gelu_pre), in<T>(x), in<T>(w), in<T>(b), N, IC, OC);
    ops::gelu_forward(out<T>(y), in<T>(gelu_pre), N * OC);
  }
  void matmul_backward(void* dx, void* dw, void* db, const void* dy, const void* x, const void* w,
                       int64_t N, int64_t IC, int64_t OC) override {
    ops::matmul_backward(out<T>(dx), out<T>(dw), out<T>(db), in<T>(dy), in<T>(x), in<T>(w), N, IC,
                         OC);
  }
  void gelu_backward(void* dx, const void* x, const void* dy, int64_t n) override {
    ops::gelu_backward(out<T>(dx), in<T>(x), in<T>(dy), n);
  }

  // The CPU keeps the probabilities [B, NH, T, T] for the backward.
  size_t attention_saved_bytes(int64_t B, int64_t T_, int64_t NH) const override {
    return static_cast<size_t>(B * NH * T_ * T_) * sizeof(T);
  }
  void attention_forward(void* o, void* saved, const void* qkv, int64_t B, int64_t T_, int64_t C,
                         int64_t NH) override {
    ops::attention_forward(out<T>(o), out<T>(saved), in<T>(qkv), B, T_, C, NH);
  }
  void attention_forward_cached(void* o, void* kv, const void* qkv, int64_t B, int64_t past,
                                int64_t Tq, int64_t maxT, int64_t C, int64_t NH) override {
    ops::attention_forward_cached(out<T>(o), out<T>(kv), in<T>(qkv), B, past, Tq, maxT, C, NH);
  }
  void attention_backward(void* dqkv, const void* dout, const void* qkv, const void*,
                          const void* saved, int64_t B, int64_t T_, int64_t C,
                          int64_t NH) override {
    scratch_.resize(static_cast<size_t>(T_ * T_));
    ops::attention_backward(out<T>(dqkv), scratch_.data(), in<T>(dout), in<T>(qkv), in<T>(saved), B,
                            T_, C, NH);
  }

  void lm_head_forward(void* logits, const void* x, const void* wte, int64_t N, int64_t C,
                       int64_t V) override {
    ops::lm_head_forward(out<T>(logits), in<T>(x), in<T>(wte), N, C, V);
  }
  void lm_head_backward(void* dx, void* dwte, const void* dlogits, const void* x, const void* wte,
                        int64_t N, int64_t C, int64_t V) override {
    ops::lm_head_backward(out<T>(dx), out<T>(dwte), in<T>(dlogits), in<T>(x), in<T>(wte), N, C, V);
  }
  double softmax_xent_forward(void* lse, const void* logits, const int32_t* targets, int64_t N,
                              int64_t V) override {
    return ops::softmax_xent_forward(out<T>(lse), in<T>(logits), targets, N, V).loss_sum;
  }
  void softmax_xent_backward(void* dlogits, const void* logits, const void* lse,
                             const int32_t* targets, double dloss, int64_t N, int64_t V) override {
    ops::softmax_xent_backward(out<T>(dlogits), in<T>(logits), in<T>(lse), targets,
                               static_cast<T>(dloss), N, V);
  }

  void optimizer_update(float* master, const float* grad, float* s0, float* s1, void* compute_copy,
                        int64_t, const std::vector<UpdateSegment>& segments,
                        const UpdateRule& rule) override {
    for (const UpdateSegment& seg : segments) {
      const int64_t b = seg.begin;
      const double wd = seg.weight_decay ? rule.weight_decay : 0.0;
      if (rule.adamw) {
        AdamWHyper h;
        h.lr = rule.lr;
        h.beta1 = rule.beta1;
        h.beta2 = rule.beta2;
        h.eps = rule.eps;
        h.weight_decay = wd;
        h.grad_scale = rule.grad_scale;
        adamw_step(master + b, grad + b, s0 + b, s1 + b, seg.count, h, rule.step);
      } else {
        SgdHyper h;
        h.lr = rule.lr;
        h.momentum = rule.momentum;
        h.weight_decay = wd;
        h.grad_scale = rule.grad_scale;
        sgd_step(master + b, grad + b, s0 ? s0 + b : nullptr, seg.count, h);
      }
      if (compute_copy != nullptr) cast_from_float(out<T>(compute_copy) + b, master + b, seg.count);
    }
  }
  double sum_of_squares(const std::vector<Span>& spans) override {
    double sum = 0.0;  // per span, then added: the order the engine always used
    for (const Span& s : spans) {
      double span_sum = 0.0;
      for (int64_t i = 0; i < s.count; ++i) span_sum += static_cast<double>(s.data[i]) * s.data[i];
      sum += span_sum;
    }
    return sum;
  }
  void cast_from_float(void* dst, const float* src, int64_t n) override {
    T* d = out<T>(dst);
    if (static_cast<const void*>(d) == static_cast<const void*>(src)) return;
    std::copy(src, src + n, d);
  }

  void cast_to_float(float* dst, const void* src, int64_t n) override {
    const T* s = static_cast<const T*>(src);
    if (static_cast<const void*>(s) == static_cast<const void*>(dst)) return;
    for (int64_t i = 0; i < n; ++i) dst[i] = static_cast<float>(s[i]);
  }

  void accumulate(float* dst, const float* src, int64_t n) override {
    for (int64_t i = 0; i < n; ++i) dst[i] += src[i];
  }

 private:
  std::vector<T> scratch_;  // attention backward: [T, T]
};

}  // namespace

std::unique_ptr<Backend> make_cpu_backend(DType dtype) {
  switch (dtype) {
    case DType::kFloat32:
      return std::make_unique<CpuBackend<float>>();
    case DType::kFloat64:
      return std::make_unique<CpuBackend<double>>();
    default:
      throw std::invalid_argument(std::string("the CPU backend computes in fp32 or fp64, not ") +
                                  dtype_name(dtype));
  }
}

}  // namespace zerotune::ops
