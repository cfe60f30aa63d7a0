// Fused softmax + cross-entropy over the vocabulary, with PyTorch's ignore index.
#pragma once

#include <cstdint>

namespace zerotune::ops {

inline constexpr int32_t kIgnoreIndex = -100;

struct XentSum {
  double loss_sum = 0.0;  // sum of the token losses of counted rows
  int64_t tokens = 0;     // rows whose target != kIgnoreIndex
};

// Forward, per row i of N rows of V logits, with targets[N] in [0, V) or kIgnoreIndex:
//   lse[i]  = log sum_j exp(logits[i, j])                        lse[N] OVERWRITTEN (every row)
//   loss_i  = lse[i] - logits[i, targets[i]]
// Returns the SUM of loss_i over rows with targets[i] != kIgnoreIndex and their count; the
// caller divides (by the token count of the global batch) so the mean stays world-size free.
// Backward, of dloss * sum_i loss_i:
//   dlogits[i, j] = dloss * (exp(logits[i, j] - lse[i]) - [j == targets[i]])   counted rows
//   dlogits[i, :] = 0                                                         ignored rows
// dlogits[N, V] is OVERWRITTEN and may alias logits (in place).
template <typename T>
XentSum softmax_xent_forward(T* lse, const T* logits, const int32_t* targets, int64_t N, int64_t V);

template <typename T>
void softmax_xent_backward(T* dlogits, const T* logits, const T* lse, const int32_t* targets,
                           T dloss, int64_t N, int64_t V);

}  // namespace zerotune::ops
