// Gradient clipping by the global L2 norm, as torch.nn.utils.clip_grad_norm_:
//   total_norm = sqrt(sum over all gradient elements of g^2)
//   coef = max_norm / (total_norm + 1e-6), and the gradients are multiplied by min(coef, 1)
// Under ZeRO each rank sums the squares of its shard (grad_sum_of_squares), the sums are
// all-reduced, and the coefficient is folded into the optimizer's grad_scale.
#pragma once

#include <cstdint>

namespace zerotune::train {

// sum(g^2) over a range, accumulated in double.
double grad_sum_of_squares(const float* grad, int64_t n);

// min(1, max_norm / (total_norm + 1e-6)); 1 when max_norm <= 0 (clipping off). A non-finite
// total_norm gives what torch gives: 0 for inf, NaN for NaN (callers skip such steps).
double clip_coefficient(double total_norm, double max_norm);

}  // namespace zerotune::train
