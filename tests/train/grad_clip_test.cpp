#include "zerotune/train/grad_clip.hpp"

#include <boost/test/unit_test.hpp>
#include <cmath>
#include <limits>
#include <vector>

namespace tt = boost::test_tools;
using namespace zerotune::train;

BOOST_AUTO_TEST_SUITE(grad_clip)

// A 3-4-12 gradient has norm 13: max_norm 1 clips by 1 / (13 + 1e-6), max_norm 20 does not.
BOOST_AUTO_TEST_CASE(coefficient_is_max_norm_over_norm_when_clipping) {
  const std::vector<float> g = {3.0f, -4.0f, 12.0f};
  const double sum = grad_sum_of_squares(g.data(), 3);
  BOOST_TEST(sum == 169.0);
  const double norm = std::sqrt(sum);
  BOOST_TEST(clip_coefficient(norm, 1.0) == 1.0 / (13.0 + 1e-6), tt::tolerance(1e-15));
  BOOST_TEST(clip_coefficient(norm, 20.0) == 1.0);
  BOOST_TEST(clip_coefficient(norm, 0.0) == 1.0);  // off
}

BOOST_AUTO_TEST_CASE(non_finite_norms_behave_as_torch) {
  BOOST_TEST(clip_coefficient(std::numeric_limits<double>::infinity(), 1.0) == 0.0);
  BOOST_TEST(std::isnan(clip_coefficient(std::nan(""), 1.0)));
}

BOOST_AUTO_TEST_SUITE_END()
