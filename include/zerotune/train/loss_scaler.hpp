// Dynamic loss scaling for fp16 training, as DeepSpeed's DynamicLossScaler: the loss is
// multiplied by `scale` before backward so small fp16 gradients do not flush to zero. A step
// whose gradients overflow (inf/NaN anywhere, on any rank) is skipped; the scale halves
// (never below min_loss_scale) once `hysteresis` overflows have been absorbed (DeepSpeed's
// default, consecutive_hysteresis off: clean steps do not refill it); every loss_scale_window
// clean steps since the last overflow it doubles and the hysteresis refills. A fixed scale (config
// loss_scale > 0) never changes and still skips overflows.
#pragma once

#include <cstdint>

#include "zerotune/config/run_config.hpp"
#include "zerotune/train/checkpoint.hpp"

namespace zerotune::train {

class LossScaler {
 public:
  // enabled false (bf16 / fp32): scale 1, never an overflow to react to.
  LossScaler(const config::Fp16Config& config, bool enabled);

  bool enabled() const { return enabled_; }
  double scale() const { return scale_; }
  // After each step's gradients: returns true when the step must be skipped (overflow).
  bool update(bool overflow);
  int64_t skipped_steps() const { return skipped_; }

  // What a checkpoint keeps, so a resumed fp16 run goes on with the same scale (scale 0 when
  // disabled); restore() ignores a state of scale 0 and a fixed scale.
  LossScaleState state() const;
  void restore(const LossScaleState& s);

 private:
  bool enabled_;
  bool dynamic_;
  double scale_ = 1;
  double min_scale_ = 1;
  int64_t window_ = 1000;
  int64_t hysteresis_ = 2;
  int64_t hysteresis_left_ = 2;
  int64_t iteration_ = 0;
  int64_t last_overflow_ = -1;
  int64_t skipped_ = 0;
};

}  // namespace zerotune::train
