// GELU, tanh approximation (GPT-2's "gelu_new"), on compute-dtype buffers.
// Host-includable: launchers only. Math in gelu.cu and src/ops/gelu.cpp.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "zerotune/base/dtype.hpp"

namespace zerotune::cuda {

// y[i] = gelu(x[i]) for i < n; y may alias x. Buffers of dt.
void gelu_forward(DType dt, void* y, const void* x, int64_t n, cudaStream_t stream);
// dx[i] = dy[i] * gelu'(x[i]) (dx OVERWRITTEN); dx may alias dy. Buffers of dt.
void gelu_backward(DType dt, void* dx, const void* x, const void* dy, int64_t n,
                   cudaStream_t stream);

}  // namespace zerotune::cuda
