// Optimizer steps over one unit's flat range, elementwise in fp32 (src/ops/adamw.cpp,
// src/ops/sgd.cpp), with g = grad * grad_scale:
//   AdamW: p = p * (1 - lr*wd); m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
//          p = p - lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps)
//   SGD:   g = g + wd p; buf = momentum buf + g (buf = g on the first step); p = p - lr buf
// wd is the segment's: weight_decay where the segment has it, else 0.
// Grid: (x, y) = (blocks striding over the longest segment, segment index): one launch for
// the whole unit, and each block knows its segment's decay without a search. 256 threads,
// one element at a time: segments start at arbitrary offsets, and the loads (4 fp32 streams)
// stay coalesced. The derived scalars are formed once on the host in double, as the CPU op
// does, so the elementwise math is the CPU's.
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "cuda_check.cuh"
#include "dtype_dispatch.cuh"
#include "optimizer_update.cuh"

namespace zerotune::cuda {

namespace {

constexpr int kThreads = 256;

struct AdamWStep {
  float decay;  // 1 - lr*wd, for decayed segments
  float beta1, one_minus_beta1, beta2, one_minus_beta2;
  float neg_step_size;  // -lr / (1 - b1^t)
  float bias_correction2_sqrt;
  float eps, grad_scale;
};

struct SgdStep {
  float neg_lr, momentum, weight_decay, grad_scale;
  bool use_momentum, first_step;
};

template <typename T>
__device__ __forceinline__ void write_copy(void* copy, int64_t i, float p) {
  if (copy != nullptr) static_cast<T*>(copy)[i] = from_float<T>(p);
}

template <typename T>
__global__ void adamw_kernel(float* master, const float* grad, float* m, float* v, void* copy,
                             UpdateSegments segments, AdamWStep s) {
  const UpdateSegment seg = segments.seg[blockIdx.y];
  const float decay = seg.weight_decay != 0 ? s.decay : 1.f;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t k = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; k < seg.count;
       k += stride) {
    const int64_t i = seg.begin + k;
    const float g = grad[i] * s.grad_scale;
    const float p = master[i] * decay;
    const float mi = s.beta1 * m[i] + s.one_minus_beta1 * g;
    const float vi = s.beta2 * v[i] + s.one_minus_beta2 * g * g;
    const float denom = sqrtf(vi) / s.bias_correction2_sqrt + s.eps;
    m[i] = mi;
    v[i] = vi;
    const float np = p + s.neg_step_size * (mi / denom);
    master[i] = np;
    write_copy<T>(copy, i, np);
  }
}

template <typename T>
__global__ void sgd_kernel(float* master, const float* grad, float* buf, void* copy,
                           UpdateSegments segments, SgdStep s) {
  const UpdateSegment seg = segments.seg[blockIdx.y];
  const float wd = seg.weight_decay != 0 ? s.weight_decay : 0.f;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t k = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; k < seg.count;
       k += stride) {
    const int64_t i = seg.begin + k;
    const float p = master[i];
    float g = grad[i] * s.grad_scale;
    g = g + wd * p;
    if (s.use_momentum) {
      g = s.first_step ? g : s.momentum * buf[i] + g;
      buf[i] = g;
    }
    const float np = p + s.neg_lr * g;
    master[i] = np;
    write_copy<T>(copy, i, np);
  }
}

void check_segments(const char* what, int64_t n, const UpdateSegments& segments) {
  if (segments.n < 0 || segments.n > kMaxUpdateSegments) {
    throw std::invalid_argument(std::string(what) + ": " + std::to_string(segments.n) +
                                " segments, expected 0.." + std::to_string(kMaxUpdateSegments));
  }
  for (int k = 0; k < segments.n; ++k) {
    const UpdateSegment& s = segments.seg[k];
    if (s.begin < 0 || s.count < 0 || s.begin + s.count > n) {
      throw std::invalid_argument(
          std::string(what) + ": segment " + std::to_string(k) + " [" + std::to_string(s.begin) +
          ", " + std::to_string(s.begin + s.count) + ") leaves [0, " + std::to_string(n) + ")");
    }
  }
}

dim3 segment_grid(const UpdateSegments& segments) {
  int64_t longest = 1;
  for (int k = 0; k < segments.n; ++k) longest = std::max(longest, segments.seg[k].count);
  return dim3(grid_for(longest, kThreads), static_cast<unsigned>(segments.n));
}

// compute_copy == nullptr needs no dtype: any instantiation leaves it alone.
template <typename F>
void dispatch_copy(void* compute_copy, DType dt, const char* what, F&& f) {
  if (compute_copy == nullptr) {
    f(TypeTag<float>{});
  } else {
    dispatch_dtype(dt, what, f);
  }
}

}  // namespace

void adamw_update(float* master, const float* grad, float* m, float* v, void* compute_copy,
                  DType compute_dtype, int64_t n, const UpdateSegments& segments,
                  const AdamWScalars& s, cudaStream_t stream) {
  check_segments("adamw_update", n, segments);
  if (segments.n == 0) return;
  const double lr = s.lr, b1 = s.beta1, b2 = s.beta2;
  AdamWStep step{};
  step.decay = static_cast<float>(1.0 - lr * static_cast<double>(s.weight_decay));
  step.beta1 = s.beta1;
  step.one_minus_beta1 = static_cast<float>(1.0 - b1);
  step.beta2 = s.beta2;
  step.one_minus_beta2 = static_cast<float>(1.0 - b2);
  step.neg_step_size = static_cast<float>(-lr / static_cast<double>(s.bias_correction1));
  step.bias_correction2_sqrt =
      static_cast<float>(std::sqrt(static_cast<double>(s.bias_correction2)));
  step.eps = s.eps;
  step.grad_scale = s.grad_scale;
  dispatch_copy(compute_copy, compute_dtype, "adamw_update", [&](auto tag) {
    adamw_kernel<typename decltype(tag)::type><<<segment_grid(segments), kThreads, 0, stream>>>(
        master, grad, m, v, compute_copy, segments, step);
    ZT_CUDA_CHECK(cudaGetLastError());
  });
}

void sgd_update(float* master, const float* grad, float* momentum_buffer, void* compute_copy,
                DType compute_dtype, int64_t n, const UpdateSegments& segments, const SgdScalars& s,
                bool first_step, cudaStream_t stream) {
  check_segments("sgd_update", n, segments);
  if (segments.n == 0) return;
  SgdStep step{};
  step.neg_lr = -s.lr;
  step.momentum = s.momentum;
  step.weight_decay = s.weight_decay;
  step.grad_scale = s.grad_scale;
  step.use_momentum = s.momentum != 0.f;
  step.first_step = first_step;
  if (step.use_momentum && momentum_buffer == nullptr) {
    throw std::invalid_argument("sgd_update: momentum != 0 needs a momentum_buffer");
  }
  dispatch_copy(compute_copy, compute_dtype, "sgd_update", [&](auto tag) {
    sgd_kernel<typename decltype(tag)::type><<<segment_grid(segments), kThreads, 0, stream>>>(
        master, grad, momentum_buffer, compute_copy, segments, step);
    ZT_CUDA_CHECK(cudaGetLastError());
  });
}

}  // namespace zerotune::cuda
