// Token + position embedding (GPT-2's input layer) on the GPU. Host-includable: launchers
// only. Math in embedding.cu and src/ops/embedding.cpp.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "embedding_groups.hpp"
#include "zerotune/base/dtype.hpp"

namespace zerotune::cuda {

// out[b,t,:] = wte[ids[b,t],:] + wpe[t,:]; out [B,T,C] of dt, OVERWRITTEN. wte [V,C] and
// wpe [>=T,C] of dt; ids [B,T] in [0, V) (not checked on the device).
void embedding_forward(DType dt, void* out, const int32_t* ids, const void* wte, const void* wpe,
                       int64_t B, int64_t T, int64_t C, cudaStream_t stream);

// Deterministic scatter-add (fp32 gradients, ACCUMULATED):
//   dwte[tok,:] += sum of dout[p,:] over the positions p of tok, in ascending p
//   dwpe[t,:]   += sum_b dout[b,t,:], in ascending b
// order, group_tokens, group_starts: a TokenGroups (group_positions_by_token) copied to the
// device; groups = group_tokens.size(). dout [B,T,C] of dt.
void embedding_backward(DType dt, float* dwte, float* dwpe, const void* dout, const int32_t* order,
                        const int32_t* group_tokens, const int32_t* group_starts, int64_t groups,
                        int64_t B, int64_t T, int64_t C, cudaStream_t stream);

}  // namespace zerotune::cuda
