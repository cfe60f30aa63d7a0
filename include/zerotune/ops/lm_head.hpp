// The language-model head tied to the token embedding: logits = x @ wte^T.
#pragma once

#include <cstdint>

namespace zerotune::ops {

// Forward, over N = B*T rows:
//   logits[N, V] = x[N, C] @ wte[V, C]^T                         logits OVERWRITTEN
// Backward, with dlogits[N, V] the upstream gradient:
//   dx[N, C]    = dlogits @ wte                                  OVERWRITTEN
//   dwte[V, C] += dlogits^T @ x                                  ACCUMULATED
// The rows are independent, so the caller may run the backward over chunks of rows.
template <typename T>
void lm_head_forward(T* logits, const T* x, const T* wte, int64_t N, int64_t C, int64_t V);

template <typename T>
void lm_head_backward(T* dx, T* dwte, const T* dlogits, const T* x, const T* wte, int64_t N,
                      int64_t C, int64_t V);

}  // namespace zerotune::ops
