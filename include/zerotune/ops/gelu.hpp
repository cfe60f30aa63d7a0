// GELU, tanh approximation (Hugging Face "gelu_new", GPT-2's activation).
#pragma once

#include <cstdint>

namespace zerotune::ops {

// Forward, elementwise over N elements, with u = sqrt(2/pi) * (x + 0.044715 x^3):
//   y = 0.5 x (1 + tanh(u))                                     y OVERWRITTEN
// Backward, with dy the upstream gradient:
//   dx = dy * (0.5 (1 + tanh(u)) + 0.5 x (1 - tanh(u)^2) sqrt(2/pi) (1 + 3 * 0.044715 x^2))
//                                                                dx OVERWRITTEN
// y may alias x; dx may alias dy.
template <typename T>
void gelu_forward(T* y, const T* x, int64_t N);

template <typename T>
void gelu_backward(T* dx, const T* x, const T* dy, int64_t N);

}  // namespace zerotune::ops
