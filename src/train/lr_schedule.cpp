#include "zerotune/train/lr_schedule.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <stdexcept>

#include "zerotune/base/error.hpp"

namespace zerotune::train {

LrDecay parse_lr_decay(const std::string& name) {
  if (name == "cosine") return LrDecay::kCosine;
  if (name == "linear") return LrDecay::kLinear;
  if (name == "constant") return LrDecay::kConstant;
  throw InputError("train.schedule: expected cosine, linear or constant, got \"" + name + "\"");
}

const char* lr_decay_name(LrDecay decay) {
  switch (decay) {
    case LrDecay::kCosine:
      return "cosine";
    case LrDecay::kLinear:
      return "linear";
    case LrDecay::kConstant:
      return "constant";
  }
  return "?";
}

LrSchedule::LrSchedule(double lr, LrDecay decay, int64_t warmup_steps, int64_t total_steps,
                       double min_lr_ratio)
    : lr_(lr),
      decay_(decay),
      warmup_steps_(warmup_steps),
      total_steps_(total_steps),
      min_lr_ratio_(min_lr_ratio) {
  if (warmup_steps < 0 || total_steps < 0 || min_lr_ratio < 0.0 || min_lr_ratio > 1.0) {
    throw std::invalid_argument("LrSchedule: warmup_steps and total_steps must be >= 0 and " +
                                std::string("min_lr_ratio in [0, 1]"));
  }
}

double LrSchedule::factor(int64_t step) const {
  if (step < warmup_steps_) {
    return static_cast<double>(step) / static_cast<double>(std::max<int64_t>(1, warmup_steps_));
  }
  if (decay_ == LrDecay::kConstant) return 1.0;
  const double span = static_cast<double>(std::max<int64_t>(1, total_steps_ - warmup_steps_));
  const double progress = std::clamp(static_cast<double>(step - warmup_steps_) / span, 0.0, 1.0);
  const double shape = decay_ == LrDecay::kCosine
                           ? 0.5 * (1.0 + std::cos(std::numbers::pi * progress))
                           : 1.0 - progress;
  return min_lr_ratio_ + (1.0 - min_lr_ratio_) * shape;
}

}  // namespace zerotune::train
