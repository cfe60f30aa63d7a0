// Fused softmax + cross-entropy over the vocabulary (ignore index -100), as
// src/ops/softmax_xent.cpp, on compute-dtype logits with a row stride. Host-includable.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "zerotune/base/dtype.hpp"

namespace zerotune::cuda {

// Per row i < N of logits [N, ld] (dt; columns [V, ld) are padding, never read or written),
// targets [N] in [0, V) or -100:
//   lse[i] = log sum_{j<V} exp(logits[i,j])                         fp32, OVERWRITTEN
//   row_loss[i] = lse[i] - logits[i, targets[i]], or 0 when targets[i] == -100 (NaN for a
//   target outside [0, V), so that a bad label surfaces in the loss)
void softmax_xent_forward(DType dt, float* lse, float* row_loss, const void* logits,
                          const int32_t* targets, int64_t N, int64_t V, int64_t ld,
                          cudaStream_t stream);

// dlogits[i,j] = dloss * (exp(logits[i,j] - lse[i]) - [j == targets[i]]) for j < V; the whole
// row 0 when ignored. dlogits [N, ld] of dt, OVERWRITTEN, may alias logits (in place).
void softmax_xent_backward(DType dt, void* dlogits, const void* logits, const float* lse,
                           const int32_t* targets, float dloss, int64_t N, int64_t V, int64_t ld,
                           cudaStream_t stream);

// *out = sum of row_loss[0..N) in double, in a fixed order (one block).
void sum_rows(double* out, const float* row_loss, int64_t N, cudaStream_t stream);

}  // namespace zerotune::cuda
