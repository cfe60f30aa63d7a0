// Learning-rate schedules: linear warmup from 0 to lr over warmup_steps, then a cosine,
// linear or constant decay that ends at lr * min_lr_ratio after total_steps. With
// min_lr_ratio = 0 they are Hugging Face's get_cosine_schedule_with_warmup,
// get_linear_schedule_with_warmup and get_constant_schedule_with_warmup; cosine with
// min_lr_ratio is get_cosine_with_min_lr_schedule_with_warmup(min_lr_rate=min_lr_ratio).
//
// `step` counts optimizer steps already taken, as in Hugging Face's LambdaLR: the first update
// uses lr_at(0), which is 0 when warmup_steps > 0. With w = warmup_steps, N = total_steps:
//   step < w:   factor = step / w
//   progress = (step - w) / max(1, N - w), clamped to [0, 1]
//   cosine:     factor = r + (1 - r) * 0.5 * (1 + cos(pi * progress))
//   linear:     factor = r + (1 - r) * (1 - progress)
//   constant:   factor = 1
// where r = min_lr_ratio. Hugging Face does not clamp progress; it only differs past N,
// where the cosine would rise again.
#pragma once

#include <cstdint>
#include <string>

namespace zerotune::train {

enum class LrDecay { kCosine, kLinear, kConstant };

// "cosine" | "linear" | "constant"; anything else is an InputError naming train.schedule.
LrDecay parse_lr_decay(const std::string& name);
const char* lr_decay_name(LrDecay decay);

class LrSchedule {
 public:
  LrSchedule(double lr, LrDecay decay, int64_t warmup_steps, int64_t total_steps,
             double min_lr_ratio = 0.0);

  double factor(int64_t step) const;  // lr_at(step) / lr
  double lr_at(int64_t step) const { return lr_ * factor(step); }

 private:
  double lr_;
  LrDecay decay_;
  int64_t warmup_steps_;
  int64_t total_steps_;
  double min_lr_ratio_;
};

}  // namespace zerotune::train
