// LossScaler against DeepSpeed's documented DynamicLossScaler rules, written out by hand for
// a fixed sequence of overflows: halve after `hysteresis` overflows (never below the minimum),
// double after loss_scale_window clean steps since the last overflow, skip every overflow.
#include "zerotune/train/loss_scaler.hpp"

#include <boost/test/unit_test.hpp>

using zerotune::config::Fp16Config;
using zerotune::train::LossScaler;

BOOST_AUTO_TEST_SUITE(loss_scaler)

BOOST_AUTO_TEST_CASE(bf16_and_fp32_never_scale_or_skip) {
  LossScaler off(Fp16Config{}, false);
  BOOST_TEST(off.scale() == 1.0);
  BOOST_TEST(!off.update(false));
  BOOST_TEST(off.scale() == 1.0);
}

BOOST_AUTO_TEST_CASE(overflows_halve_after_hysteresis_and_clean_windows_double) {
  Fp16Config c;
  c.initial_scale_power = 4;  // 16
  c.loss_scale_window = 3;
  c.hysteresis = 2;
  c.min_loss_scale = 4;
  LossScaler s(c, true);
  BOOST_TEST(s.scale() == 16.0);
  BOOST_TEST(s.update(true));  // iteration 0: first overflow absorbed by the hysteresis
  BOOST_TEST(s.scale() == 16.0);
  BOOST_TEST(s.update(true));  // iteration 1: second overflow halves
  BOOST_TEST(s.scale() == 8.0);
  BOOST_TEST(s.update(true));  // hysteresis is not refilled by time: halves again
  BOOST_TEST(s.scale() == 4.0);
  BOOST_TEST(s.update(true));  // at the minimum: stays
  BOOST_TEST(s.scale() == 4.0);
  BOOST_TEST(!s.update(false));  // iteration 4: 1 step since the overflow at 3
  BOOST_TEST(!s.update(false));  // 2
  BOOST_TEST(s.scale() == 4.0);
  BOOST_TEST(!s.update(false));  // iteration 6: 3 steps since it: doubles, hysteresis refilled
  BOOST_TEST(s.scale() == 8.0);
  BOOST_TEST(s.update(true));  // absorbed again by the refilled hysteresis
  BOOST_TEST(s.scale() == 8.0);
  BOOST_TEST(s.skipped_steps() == 5);
}

BOOST_AUTO_TEST_CASE(a_fixed_scale_never_changes_but_still_skips_overflows) {
  Fp16Config c;
  c.loss_scale = 128;
  LossScaler s(c, true);
  BOOST_TEST(s.update(true));
  BOOST_TEST(!s.update(false));
  BOOST_TEST(s.scale() == 128.0);
}

BOOST_AUTO_TEST_CASE(a_restored_scaler_continues_as_the_uninterrupted_one) {
  Fp16Config c;
  c.initial_scale_power = 10;
  c.loss_scale_window = 2;
  const bool overflows[] = {true, true, false, false, true, false, false, false, true, false};
  LossScaler whole(c, true), first(c, true);
  for (int i = 0; i < 5; ++i) {
    whole.update(overflows[i]);
    first.update(overflows[i]);
  }
  LossScaler resumed(c, true);  // a fresh start at 2^10, then the checkpoint's state
  resumed.restore(first.state());
  for (int i = 5; i < 10; ++i) {
    BOOST_TEST(resumed.update(overflows[i]) == whole.update(overflows[i]));
    BOOST_TEST(resumed.scale() == whole.scale(), "step " << i);
  }
  LossScaler off(c, false);
  BOOST_TEST(off.state().scale == 0.0);  // nothing to keep outside fp16
}

BOOST_AUTO_TEST_SUITE_END()
