// LayerNorm over the last dimension (eps 1e-5, biased variance, as src/ops/layernorm.cpp),
// optionally fused with the residual add before it. Host-includable: launchers only.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "zerotune/base/dtype.hpp"

namespace zerotune::cuda {

// y = LayerNorm(x) * weight + bias over rows of C. x, y [N,C] and weight, bias [C] of dt;
// mean, rstd [N] fp32 OVERWRITTEN (kept for the backward).
void layernorm_forward(DType dt, void* y, float* mean, float* rstd, const void* x,
                       const void* weight, const void* bias, int64_t N, int64_t C,
                       cudaStream_t stream);

// res = a + b (rounded to dt and written, [N,C]), then y = LayerNorm(res) as above. res may
// alias a or b.
void residual_layernorm_forward(DType dt, void* res, void* y, float* mean, float* rstd,
                                const void* a, const void* b, const void* weight, const void* bias,
                                int64_t N, int64_t C, cudaStream_t stream);

// Floats of scratch layernorm_backward needs for N rows of C.
size_t layernorm_backward_scratch_floats(int64_t N, int64_t C);

// dx [N,C] of dt ACCUMULATES (+=, like the CPU op; must not alias dy); dweight, dbias [C]
// fp32 ACCUMULATE. dy, x [N,C] and weight [C] of dt; mean, rstd [N] from the forward.
// scratch: layernorm_backward_scratch_floats(N, C) floats. Deterministic.
void layernorm_backward(DType dt, void* dx, float* dweight, float* dbias, const void* dy,
                        const void* x, const void* weight, const float* mean, const float* rstd,
                        float* scratch, int64_t N, int64_t C, cudaStream_t stream);

}  // namespace zerotune::cuda
