// DeepSpeed's DynamicLossScaler.update_scale, with consecutive_hysteresis off:
//   overflow:  if hysteresis_left == 1: scale = max(scale / 2, min_scale)
//              else hysteresis_left -= 1;  last_overflow = iteration
//   clean:     if (iteration - last_overflow) % window == 0: hysteresis_left = hysteresis,
//              scale *= 2
//   iteration += 1
#include "zerotune/train/loss_scaler.hpp"

#include <algorithm>
#include <cmath>

namespace zerotune::train {

LossScaler::LossScaler(const config::Fp16Config& c, bool enabled)
    : enabled_(enabled),
      dynamic_(enabled && c.loss_scale == 0),
      min_scale_(c.min_loss_scale),
      window_(c.loss_scale_window),
      hysteresis_(c.hysteresis),
      hysteresis_left_(c.hysteresis) {
  if (!enabled_) return;
  scale_ = dynamic_ ? std::ldexp(1.0, static_cast<int>(c.initial_scale_power)) : c.loss_scale;
}

bool LossScaler::update(bool overflow) {
  if (!enabled_) return overflow;
  if (overflow) ++skipped_;
  if (!dynamic_) return overflow;
  if (overflow) {
    if (hysteresis_left_ <= 1) {
      scale_ = std::max(scale_ / 2, min_scale_);
    } else {
      --hysteresis_left_;
    }
    last_overflow_ = iteration_;
  } else if ((iteration_ - last_overflow_) % window_ == 0) {
    hysteresis_left_ = hysteresis_;
    scale_ *= 2;
  }
  ++iteration_;
  return overflow;
}

LossScaleState LossScaler::state() const {
  if (!enabled_) return {};
  return {scale_, hysteresis_left_, iteration_, last_overflow_};
}

void LossScaler::restore(const LossScaleState& s) {
  if (!dynamic_ || s.scale <= 0) return;
  scale_ = s.scale;
  hysteresis_left_ = s.hysteresis_left;
  iteration_ = s.iteration;
  last_overflow_ = s.last_overflow_iteration;
}

}  // namespace zerotune::train
