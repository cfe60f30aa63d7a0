// The GPU backend: ops::Backend over the kernels of this folder, on the device's compute
// stream. Parameters and activations in the compute dtype (bf16, fp16 or fp32), gradients,
// LayerNorm statistics and log-sum-exp in fp32. Matrix products through cuBLASLt
// (matmul.cuh), attention through cuDNN's fused SDPA where the build has it and the dtype
// is 16-bit, through our own kernels otherwise (attention.cuh).
//
// Scratch memory (LayerNorm backward partial sums, per-row losses, grad-norm partials, the
// embedding's token groups) is owned here, sized by the largest call so far, and comes from
// the device's stream-ordered pool. Only softmax_xent_forward and sum_of_squares wait for
// the stream: they hand a number back to the host.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "attention.cuh"
#include "cast.cuh"
#include "cuda_check.cuh"
#include "embedding.cuh"
#include "embedding_groups.hpp"
#include "gelu.cuh"
#include "grad_norm.cuh"
#include "layernorm.cuh"
#include "matmul.cuh"
#include "optimizer_update.cuh"
#include "softmax_xent.cuh"
#include "zerotune/base/error.hpp"
#include "zerotune/ops/backend.hpp"

namespace zerotune::ops {

namespace {

// Logit rows padded to a multiple of 64 elements keep every row 128-byte aligned.
constexpr int64_t kLogitsAlignment = 64;

// A device scratch array that grows to the largest size asked for (never shrinks).
template <typename T>
class Scratch {
 public:
  explicit Scratch(const char* purpose) : purpose_(purpose) {}
  T* get(runtime::Device& device, int64_t count) {
    if (count > buffer_.size()) buffer_ = runtime::DeviceBuffer<T>(device, count, purpose_);
    return buffer_.data();
  }

 private:
  const char* purpose_;
  runtime::DeviceBuffer<T> buffer_;
};

class CudaBackend : public Backend {
 public:
  CudaBackend(runtime::Device& device, DType dtype)
      : device_(device),
        dtype_(dtype),
        stream_(static_cast<cudaStream_t>(device.native_stream())),
        matmul_(dtype, stream_),
        attention_(dtype == DType::kFloat32 ? nullptr
                                            : cuda::make_cudnn_attention(dtype, stream_)) {
    if (!attention_) attention_ = cuda::make_own_attention(dtype, stream_);
    name_ = std::string("cuda ") + dtype_name(dtype) + " attention=" + attention_->name();
  }

  const char* name() const override { return name_.c_str(); }
  DType compute_dtype() const override { return dtype_; }
  DType accum_dtype() const override { return DType::kFloat32; }
  runtime::Device& device() override { return device_; }
  int64_t logits_stride(int64_t V) const override {
    return (V + kLogitsAlignment - 1) / kLogitsAlignment * kLogitsAlignment;
  }

  void upload_tokens(int32_t* dst, const int32_t* host, int64_t n) override {
    device_.copy(dst, host, static_cast<size_t>(n) * sizeof(int32_t));
  }

  void embedding_forward(void* out, const int32_t* ids, const void* wte, const void* wpe, int64_t B,
                         int64_t T, int64_t C) override {
    cuda::embedding_forward(dtype_, out, ids, wte, wpe, B, T, C, stream_);
  }
  // Positions grouped by token on the host, so each token's rows are summed in a fixed order.
  void embedding_backward(void* dwte, void* dwpe, const void* dout, const int32_t*,
                          const int32_t* ids_host, int64_t B, int64_t T, int64_t C,
                          int64_t V) override {
    const int64_t n = B * T;
    const cuda::TokenGroups groups = cuda::group_positions_by_token(ids_host, n, V);
    const auto groups_count = static_cast<int64_t>(groups.tokens.size());
    // One host-to-device copy (each waits for the stream): order [n] | tokens [G] | starts [G+1].
    staged_groups_.assign(groups.order.begin(), groups.order.end());
    staged_groups_.insert(staged_groups_.end(), groups.tokens.begin(), groups.tokens.end());
    staged_groups_.insert(staged_groups_.end(), groups.starts.begin(), groups.starts.end());
    int32_t* order = token_groups_.get(device_, static_cast<int64_t>(staged_groups_.size()));
    int32_t* tokens = order + n;
    int32_t* starts = tokens + groups_count;
    device_.copy(order, staged_groups_.data(), staged_groups_.size() * sizeof(int32_t));
    cuda::embedding_backward(dtype_, static_cast<float*>(dwte), static_cast<float*>(dwpe), dout,
                             order, tokens, starts, groups_count, B, T, C, stream_);
  }

  void layernorm_forward(void* y, void* mean, void* rstd, const void* x, const void* w,
                         const void* b, int64_t N, int64_t C) override {
    cuda::layernorm_forward(dtype_, y, static_cast<float*>(mean), static_cast<float*>(rstd), x, w,
                            b, N, C, stream_);
  }
  void residual_layernorm_forward(void* res, void* y, void* mean, void* rstd, const void* a,
                                  const void* b, const void* w, const void* bias, int64_t N,
                                  int64_t C) override {
    cuda::residual_layernorm_forward(dtype_, res, y, static_cast<float*>(mean),
                                     static_cast<float*>(rstd), a, b, w, bias, N, C, stream_);
  }
  void layernorm_backward(void* dx, void* dw, void* db, const void* dy, const void* x,
                          const void* w, const void* mean, const void* rstd, int64_t N,
                          int64_t C) override {
    float* scratch = layernorm_scratch_.get(
        device_, static_cast<int64_t>(cuda::layernorm_backward_scratch_floats(N, C)));
    cuda::layernorm_backward(dtype_, dx, static_cast<float*>(dw), static_cast<float*>(db), dy, x, w,
                             static_cast<const float*>(mean), static_cast<const float*>(rstd),
                             scratch, N, C, stream_);
  }

  // The GELU epilogue needs OC % 8 == 0; other widths run the product and the GELU apart.
  void matmul_forward(void* y, const void* x, const void* w, const void* b, int64_t N, int64_t IC,
                      int64_t OC, void* gelu_pre) override {
    if (gelu_pre == nullptr || OC % 8 == 0) {
      matmul_.forward(y, x, w, b, N, IC, OC, gelu_pre);
      return;
    }
    matmul_.forward(gelu_pre, x, w, b, N, IC, OC);
    cuda::gelu_forward(dtype_, y, gelu_pre, N * OC, stream_);
  }
  void matmul_backward(void* dx, void* dw, void* db, const void* dy, const void* x, const void* w,
                       int64_t N, int64_t IC, int64_t OC) override {
    matmul_.backward(dx, static_cast<float*>(dw), static_cast<float*>(db), dy, x, w, N, IC, OC);
  }
  void gelu_backward(void* dx, const void* x, const void* dy, int64_t n) override {
    cuda::gelu_backward(dtype_, dx, x, dy, n, stream_);
  }

  size_t attention_saved_bytes(int64_t B, int64_t T, int64_t NH) const override {
    return attention_->saved_bytes(B, T, NH);
  }
  void attention_forward(void* out, void* saved, const void* qkv, int64_t B, int64_t T, int64_t C,
                         int64_t NH) override {
    attention_->forward(out, saved, qkv, B, T, C, NH);
  }
  void attention_backward(void* dqkv, const void* dout, const void* qkv, const void* out,
                          const void* saved, int64_t B, int64_t T, int64_t C, int64_t NH) override {
    attention_->backward(dqkv, dout, qkv, out, saved, B, T, C, NH);
  }

  void lm_head_forward(void* logits, const void* x, const void* wte, int64_t N, int64_t C,
                       int64_t V) override {
    matmul_.lm_head_forward(logits, x, wte, N, C, V, logits_stride(V));
  }
  void lm_head_backward(void* dx, void* dwte, const void* dlogits, const void* x, const void* wte,
                        int64_t N, int64_t C, int64_t V) override {
    matmul_.lm_head_backward(dx, static_cast<float*>(dwte), dlogits, x, wte, N, C, V,
                             logits_stride(V));
  }
  double softmax_xent_forward(void* lse, const void* logits, const int32_t* targets, int64_t N,
                              int64_t V) override {
    float* row_loss = row_loss_.get(device_, N);
    double* sum = loss_sum_.get(device_, 1);
    cuda::softmax_xent_forward(dtype_, static_cast<float*>(lse), row_loss, logits, targets, N, V,
                               logits_stride(V), stream_);
    cuda::sum_rows(sum, row_loss, N, stream_);
    double host = 0;
    device_.copy(&host, sum, sizeof(double));
    return host;
  }
  void softmax_xent_backward(void* dlogits, const void* logits, const void* lse,
                             const int32_t* targets, double dloss, int64_t N, int64_t V) override {
    cuda::softmax_xent_backward(dtype_, dlogits, logits, static_cast<const float*>(lse), targets,
                                static_cast<float>(dloss), N, V, logits_stride(V), stream_);
  }

  // One launch per unit range (per kMaxUpdateSegments segments: GPT-2 units have at most 12).
  void optimizer_update(float* master, const float* grad, float* s0, float* s1, void* compute_copy,
                        int64_t, const std::vector<UpdateSegment>& segments,
                        const UpdateRule& rule) override {
    for (size_t first = 0; first < segments.size(); first += cuda::kMaxUpdateSegments) {
      const size_t last = std::min(segments.size(), first + cuda::kMaxUpdateSegments);
      // Each launch covers [base, end) of the range, with segment offsets relative to base.
      const int64_t base = segments[first].begin;
      const int64_t end = segments[last - 1].begin + segments[last - 1].count;
      cuda::UpdateSegments launch;
      for (size_t i = first; i < last; ++i) {
        launch.seg[launch.n++] = {segments[i].begin - base, segments[i].count,
                                  segments[i].weight_decay ? 1 : 0};
      }
      void* copy = compute_copy == nullptr ? nullptr
                                           : static_cast<char*>(compute_copy) +
                                                 base * static_cast<int64_t>(dtype_bytes(dtype_));
      if (rule.adamw) {
        // Scalars as torch computes them: in double, then used as float (ops/adamw.cpp).
        cuda::AdamWScalars s;
        s.lr = static_cast<float>(rule.lr);
        s.beta1 = static_cast<float>(rule.beta1);
        s.beta2 = static_cast<float>(rule.beta2);
        s.eps = static_cast<float>(rule.eps);
        s.weight_decay = static_cast<float>(rule.weight_decay);
        s.grad_scale = static_cast<float>(rule.grad_scale);
        s.bias_correction1 =
            static_cast<float>(1.0 - std::pow(rule.beta1, static_cast<double>(rule.step)));
        s.bias_correction2 =
            static_cast<float>(1.0 - std::pow(rule.beta2, static_cast<double>(rule.step)));
        cuda::adamw_update(master + base, grad + base, s0 + base, s1 + base, copy, dtype_,
                           end - base, launch, s, stream_);
      } else {
        cuda::SgdScalars s;
        s.lr = static_cast<float>(rule.lr);
        s.momentum = static_cast<float>(rule.momentum);
        s.weight_decay = static_cast<float>(rule.weight_decay);
        s.grad_scale = static_cast<float>(rule.grad_scale);
        cuda::sgd_update(master + base, grad + base, s0 ? s0 + base : nullptr, copy, dtype_,
                         end - base, launch, s, rule.step == 1, stream_);
      }
    }
  }

  double sum_of_squares(const std::vector<Span>& spans) override {
    const auto count = static_cast<int64_t>(spans.size()) * cuda::kNormPartials;
    if (count == 0) return 0.0;
    float* partials = norm_partials_.get(device_, count);
    double* sum = loss_sum_.get(device_, 1);
    for (size_t i = 0; i < spans.size(); ++i) {
      float* mine = partials + static_cast<int64_t>(i) * cuda::kNormPartials;
      if (spans[i].count == 0) {
        device_.fill_zero(mine, cuda::kNormPartials * sizeof(float));
        continue;
      }
      cuda::sum_squares_partials(mine, spans[i].data, spans[i].count, stream_);
    }
    cuda::sum_partials(sum, partials, count, stream_);
    double host = 0;
    device_.copy(&host, sum, sizeof(double));
    return host;
  }

  void cast_from_float(void* dst, const float* src, int64_t n) override {
    if (n == 0 || (dtype_ == DType::kFloat32 && dst == src)) return;
    cuda::cast_from_float(dtype_, dst, src, n, stream_);
  }
  void cast_to_float(float* dst, const void* src, int64_t n) override {
    if (n == 0 || (dtype_ == DType::kFloat32 && dst == src)) return;
    cuda::cast_to_float(dtype_, dst, src, n, stream_);
  }
  void accumulate(float* dst, const float* src, int64_t n) override {
    if (n > 0) cuda::add_into_float(dst, src, n, stream_);
  }

 private:
  runtime::Device& device_;
  DType dtype_;
  cudaStream_t stream_;
  std::string name_;
  cuda::Matmul matmul_;
  std::unique_ptr<cuda::Attention> attention_;
  Scratch<float> layernorm_scratch_{"layernorm backward scratch"};
  Scratch<float> row_loss_{"per-row losses"};
  Scratch<double> loss_sum_{"loss sum"};
  Scratch<float> norm_partials_{"gradient norm partials"};
  Scratch<int32_t> token_groups_{"embedding token groups"};
  std::vector<int32_t> staged_groups_;  // host side of token_groups_
};

}  // namespace

std::unique_ptr<Backend> make_cuda_backend(runtime::Device& device, DType dtype) {
  if (device.is_host()) {
    throw std::invalid_argument("make_cuda_backend: the device is the host");
  }
  // bf16 arithmetic (and cuBLASLt / cuDNN bf16 kernels) needs compute capability 8.0 (Ampere).
  int ordinal = 0, major = 0, minor = 0;
  ZT_CUDA_CHECK(cudaGetDevice(&ordinal));
  ZT_CUDA_CHECK(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, ordinal));
  ZT_CUDA_CHECK(cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, ordinal));
  if (dtype == DType::kBFloat16 && major < 8) {
    throw InputError(
        "train.precision: bf16 needs a GPU of compute capability 8.0 or newer, this "
        "one is " +
        std::to_string(major) + "." + std::to_string(minor) +
        "; set train.precision: fp16 (or fp32)");
  }
  return std::make_unique<CudaBackend>(device, dtype);
}

}  // namespace zerotune::ops
