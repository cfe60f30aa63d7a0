#include "zerotune/ops/softmax_xent.hpp"

#include <cmath>

namespace zerotune::ops {

template <typename T>
XentSum softmax_xent_forward(T* lse, const T* logits, const int32_t* targets, int64_t N,
                             int64_t V) {
  XentSum result;
  for (int64_t i = 0; i < N; ++i) {
    const T* row = logits + i * V;
    T maxv = row[0];
    for (int64_t j = 1; j < V; ++j) maxv = row[j] > maxv ? row[j] : maxv;
    // The exponentials are summed in double: V is 50257 for GPT-2.
    double sum = 0.0;
    for (int64_t j = 0; j < V; ++j) sum += static_cast<double>(std::exp(row[j] - maxv));
    const double row_lse = static_cast<double>(maxv) + std::log(sum);
    lse[i] = static_cast<T>(row_lse);
    const int32_t target = targets[i];
    if (target == kIgnoreIndex) continue;
    result.loss_sum += row_lse - static_cast<double>(row[target]);
    result.tokens += 1;
  }
  return result;
}

template <typename T>
void softmax_xent_backward(T* dlogits, const T* logits, const T* lse, const int32_t* targets,
                           T dloss, int64_t N, int64_t V) {
  for (int64_t i = 0; i < N; ++i) {
    const T* row = logits + i * V;
    T* drow = dlogits + i * V;
    const int32_t target = targets[i];
    if (target == kIgnoreIndex) {
      for (int64_t j = 0; j < V; ++j) drow[j] = T(0);
      continue;
    }
    const T l = lse[i];
    for (int64_t j = 0; j < V; ++j) drow[j] = dloss * std::exp(row[j] - l);
    drow[target] -= dloss;
  }
}

template XentSum softmax_xent_forward<float>(float*, const float*, const int32_t*, int64_t,
                                             int64_t);
template XentSum softmax_xent_forward<double>(double*, const double*, const int32_t*, int64_t,
                                              int64_t);
template void softmax_xent_backward<float>(float*, const float*, const float*, const int32_t*,
                                           float, int64_t, int64_t);
template void softmax_xent_backward<double>(double*, const double*, const double*, const int32_t*,
                                            double, int64_t, int64_t);

}  // namespace zerotune::ops
