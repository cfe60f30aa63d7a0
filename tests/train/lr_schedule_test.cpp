#include "zerotune/train/lr_schedule.hpp"

#include <boost/test/unit_test.hpp>
#include <cmath>
#include <numbers>

#include "zerotune/base/error.hpp"

namespace tt = boost::test_tools;
using namespace zerotune::train;

// Hand-derived values; tests/python/test_optimizer_reference.py compares with the schedules
// of transformers.optimization step by step.
BOOST_AUTO_TEST_SUITE(lr_schedule)

BOOST_AUTO_TEST_CASE(warmup_rises_linearly_from_zero) {
  const LrSchedule s(1e-3, LrDecay::kCosine, 4, 20);
  BOOST_TEST(s.lr_at(0) == 0.0);
  BOOST_TEST(s.lr_at(1) == 0.25e-3, tt::tolerance(1e-12));
  BOOST_TEST(s.lr_at(3) == 0.75e-3, tt::tolerance(1e-12));
  BOOST_TEST(s.lr_at(4) == 1e-3, tt::tolerance(1e-12));
}

// Cosine over 16 decay steps: halfway (step 12) gives half the lr, a quarter in (step 8)
// gives (1 + cos(pi/4)) / 2, the end gives 0 (or lr * min_lr_ratio).
BOOST_AUTO_TEST_CASE(cosine_decays_to_min_lr_ratio) {
  const LrSchedule s(2.0, LrDecay::kCosine, 4, 20);
  BOOST_TEST(s.lr_at(12) == 1.0, tt::tolerance(1e-12));
  BOOST_TEST(s.lr_at(8) == 1.0 + std::cos(std::numbers::pi / 4), tt::tolerance(1e-12));
  BOOST_TEST(std::abs(s.lr_at(20)) < 1e-15);
  BOOST_TEST(std::abs(s.lr_at(25)) < 1e-15);  // held at the end, not rising again

  const LrSchedule floor(2.0, LrDecay::kCosine, 4, 20, 0.1);
  BOOST_TEST(floor.lr_at(20) == 0.2, tt::tolerance(1e-12));
  BOOST_TEST(floor.lr_at(12) == 2.0 * (0.1 + 0.9 * 0.5), tt::tolerance(1e-12));
}

BOOST_AUTO_TEST_CASE(linear_decays_to_min_lr_ratio) {
  const LrSchedule s(1.0, LrDecay::kLinear, 2, 12);
  BOOST_TEST(s.lr_at(2) == 1.0, tt::tolerance(1e-12));
  BOOST_TEST(s.lr_at(7) == 0.5, tt::tolerance(1e-12));
  BOOST_TEST(s.lr_at(11) == 0.1, tt::tolerance(1e-12));
  BOOST_TEST(s.lr_at(12) == 0.0);
  const LrSchedule floor(1.0, LrDecay::kLinear, 0, 10, 0.2);
  BOOST_TEST(floor.lr_at(0) == 1.0, tt::tolerance(1e-12));
  BOOST_TEST(floor.lr_at(5) == 0.6, tt::tolerance(1e-12));
  BOOST_TEST(floor.lr_at(10) == 0.2, tt::tolerance(1e-12));
}

BOOST_AUTO_TEST_CASE(constant_holds_after_warmup) {
  const LrSchedule s(3e-4, LrDecay::kConstant, 3, 10, 0.5);
  BOOST_TEST(s.lr_at(1) == 1e-4, tt::tolerance(1e-12));
  BOOST_TEST(s.lr_at(3) == 3e-4, tt::tolerance(1e-12));
  BOOST_TEST(s.lr_at(100) == 3e-4, tt::tolerance(1e-12));
  const LrSchedule no_warmup(3e-4, LrDecay::kConstant, 0, 10);
  BOOST_TEST(no_warmup.lr_at(0) == 3e-4, tt::tolerance(1e-12));
}

BOOST_AUTO_TEST_CASE(schedule_names_parse_and_unknown_is_an_input_error) {
  BOOST_TEST((parse_lr_decay("cosine") == LrDecay::kCosine));
  BOOST_TEST((parse_lr_decay("linear") == LrDecay::kLinear));
  BOOST_TEST((parse_lr_decay("constant") == LrDecay::kConstant));
  BOOST_TEST(std::string(lr_decay_name(LrDecay::kLinear)) == "linear");
  BOOST_CHECK_THROW(parse_lr_decay("exponential"), zerotune::InputError);
}

BOOST_AUTO_TEST_SUITE_END()
