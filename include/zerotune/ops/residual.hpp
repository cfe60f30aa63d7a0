// Residual connection: the sum of two streams.
#pragma once

#include <cstdint>

namespace zerotune::ops {

// Forward, elementwise over N elements:   out = a + b              out OVERWRITTEN (may alias a or
// b) Backward, with dout the upstream gradient:
//   da += dout, db += dout                                          ACCUMULATED
// (GPT-2's model folds this backward into layernorm_backward, whose dx accumulates.)
template <typename T>
void residual_forward(T* out, const T* a, const T* b, int64_t N);

template <typename T>
void residual_backward(T* da, T* db, const T* dout, int64_t N);

}  // namespace zerotune::ops
