// Dense layer as Hugging Face's Conv1D computes it, the weight stored [in, out].
#pragma once

#include <cstdint>

namespace zerotune::ops {

// Forward, over N = B*T rows:
//   y[N, OC] = x[N, IC] @ w[IC, OC] + b[OC]                      (b may be null: no bias)
// Backward, with dy[N, OC] the upstream gradient:
//   dx[N, IC]  = dy @ w^T                 OVERWRITTEN (dx may be null: not wanted)
//   dw[IC, OC] += x^T @ dy                ACCUMULATED
//   db[OC]     += sum_rows(dy)            ACCUMULATED (db may be null: no bias)
// y and dx must not alias any input.
template <typename T>
void matmul_forward(T* y, const T* x, const T* w, const T* b, int64_t N, int64_t IC, int64_t OC);

template <typename T>
void matmul_backward(T* dx, T* dw, T* db, const T* dy, const T* x, const T* w, int64_t N,
                     int64_t IC, int64_t OC);

}  // namespace zerotune::ops
