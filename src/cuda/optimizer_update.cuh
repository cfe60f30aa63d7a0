// AdamW and SGD updates of one unit's flat fp32 range in one launch, with an optional
// compute-dtype copy of the new parameters. Host-includable: launchers only.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "zerotune/base/dtype.hpp"

namespace zerotune::cuda {

// A run of elements [begin, begin + count) of the range (begin relative to the range's
// start) sharing one weight-decay choice: decay applies where weight_decay != 0.
struct UpdateSegment {
  int64_t begin;
  int64_t count;
  int32_t weight_decay;
};
constexpr int kMaxUpdateSegments = 16;
// Segments must not overlap; elements of the range outside every segment (shard padding) are
// left untouched. Passed by value into the kernel.
struct UpdateSegments {
  int32_t n = 0;
  UpdateSegment seg[kMaxUpdateSegments];
};

// Step scalars; bias_correction1 = 1 - beta1^t and bias_correction2 = 1 - beta2^t, computed
// on the host in double. grad is used as grad * grad_scale (loss-scale undo, clip).
struct AdamWScalars {
  float lr, beta1, beta2, eps, weight_decay, grad_scale;
  float bias_correction1, bias_correction2;
};

// torch.optim.AdamW, exactly the math of src/ops/adamw.cpp, elementwise in fp32 over the
// segments of [0, n): master, m, v fp32 updated in place; grad fp32. If compute_copy is not
// null, compute_copy[i] = the new master[i] rounded to compute_dtype.
// Throws std::invalid_argument for more than kMaxUpdateSegments segments or a segment that
// leaves [0, n).
void adamw_update(float* master, const float* grad, float* m, float* v, void* compute_copy,
                  DType compute_dtype, int64_t n, const UpdateSegments& segments,
                  const AdamWScalars& s, cudaStream_t stream);

struct SgdScalars {
  float lr, momentum, weight_decay, grad_scale;
};

// torch.optim.SGD (dampening 0, no nesterov, coupled weight decay), as src/ops/sgd.cpp:
//   g = grad * grad_scale + wd * p;  buf = first_step ? g : momentum * buf + g;  p -= lr * buf
// momentum_buffer may be null when momentum == 0 (then p -= lr * g). compute_copy as above.
void sgd_update(float* master, const float* grad, float* momentum_buffer, void* compute_copy,
                DType compute_dtype, int64_t n, const UpdateSegments& segments, const SgdScalars& s,
                bool first_step, cudaStream_t stream);

}  // namespace zerotune::cuda
