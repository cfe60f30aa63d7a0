// Token + position embedding, GPT-2's input layer.
#pragma once

#include <cstdint>

namespace zerotune::ops {

// Forward, with ids[B, T] in [0, V) (not checked here: the model validates its input):
//   out[b, t, :] = wte[ids[b, t], :] + wpe[t, :]                 out[B, T, C] OVERWRITTEN
// Backward, with dout[B, T, C] the upstream gradient (a scatter-add):
//   dwte[ids[b, t], :] += dout[b, t, :], dwpe[t, :] += dout[b, t, :]     ACCUMULATED
template <typename T>
void embedding_forward(T* out, const int32_t* ids, const T* wte, const T* wpe, int64_t B,
                       int64_t Tlen, int64_t C);

template <typename T>
void embedding_backward(T* dwte, T* dwpe, const T* dout, const int32_t* ids, int64_t B,
                        int64_t Tlen, int64_t C);

}  // namespace zerotune::ops
