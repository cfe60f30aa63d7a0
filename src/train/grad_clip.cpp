#include "zerotune/train/grad_clip.hpp"

#include <cmath>

namespace zerotune::train {

double grad_sum_of_squares(const float* grad, int64_t n) {
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(grad[i]) * grad[i];
  return sum;
}

double clip_coefficient(double total_norm, double max_norm) {
  if (max_norm <= 0.0) return 1.0;
  const double coef = max_norm / (total_norm + 1e-6);
  if (std::isnan(coef)) return coef;  // torch.clamp keeps NaN
  return coef < 1.0 ? coef : 1.0;
}

}  // namespace zerotune::train
