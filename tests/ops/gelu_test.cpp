#include "zerotune/ops/gelu.hpp"

#include <boost/test/unit_test.hpp>

#include "gradcheck.hpp"

using namespace zerotune::ops;
using namespace zerotune::testing;

BOOST_AUTO_TEST_SUITE(gelu)

// Reference values of Hugging Face's gelu_new, 0.5 x (1 + tanh(sqrt(2/pi)(x + 0.044715 x^3))),
// evaluated in Python; the exact (erf) GELU differs from them by up to 4e-4.
BOOST_AUTO_TEST_CASE(forward_is_the_tanh_approximation) {
  const std::vector<double> x = {-3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0, 4.0};
  const std::vector<double> ref = {
      -0.0036373920817729943, -0.15880800939172324, -0.15428599017485606, 0.0,
      0.34571400982514394,    0.8411919906082768,   1.954597694087775,    3.9999297540518075};
  auto y = nan_vector(x.size());
  gelu_forward(y.data(), x.data(), static_cast<int64_t>(x.size()));
  for (size_t i = 0; i < x.size(); ++i) BOOST_TEST(std::abs(y[i] - ref[i]) < 1e-15);
}

BOOST_AUTO_TEST_CASE(backward_matches_finite_differences) {
  std::mt19937_64 rng(30);
  const int64_t N = 37;
  auto x = random_vector(N, rng, -4.0, 4.0);
  const auto dy = random_vector(N, rng);
  std::vector<double> y(N);
  auto loss = [&] {
    gelu_forward(y.data(), x.data(), N);
    return weighted_sum(dy, y.data());
  };
  auto dx = nan_vector(N);
  gelu_backward(dx.data(), x.data(), dy.data(), N);
  BOOST_TEST(max_relative_error(dx, numerical_gradient(x, loss)) < 1e-8);
}

BOOST_AUTO_TEST_CASE(works_in_place) {
  std::mt19937_64 rng(31);
  const int64_t N = 19;
  const auto x = random_vector(N, rng, -4.0, 4.0), dy = random_vector(N, rng);
  std::vector<double> y(N), dx(N);
  gelu_forward(y.data(), x.data(), N);
  gelu_backward(dx.data(), x.data(), dy.data(), N);
  auto y_in_place = x, dx_in_place = dy;
  gelu_forward(y_in_place.data(), y_in_place.data(), N);
  gelu_backward(dx_in_place.data(), x.data(), dx_in_place.data(), N);
  BOOST_TEST(y_in_place == y);
  BOOST_TEST(dx_in_place == dx);
}

BOOST_AUTO_TEST_SUITE_END()
