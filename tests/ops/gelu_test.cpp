#include "zerotune/ops/gelu.hpp"

#include <algorithm>
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

// float runs its own (vectorized) tanh; it must stay within float rounding of the double path.
BOOST_AUTO_TEST_CASE(float_matches_double_to_float_precision_everywhere) {
  std::vector<double> x;
  for (int i = -40000; i <= 40000; ++i) x.push_back(i * 2.5e-4);  // [-10, 10]
  for (double big : {12.0, 30.0, 1e3, 1e6, 1e30}) {
    x.push_back(big);
    x.push_back(-big);
  }
  const auto n = static_cast<int64_t>(x.size());
  std::vector<double> y(n), dx(n), ones(n, 1.0);
  gelu_forward(y.data(), x.data(), n);
  gelu_backward(dx.data(), x.data(), ones.data(), n);
  std::vector<float> xf(x.begin(), x.end()), yf(n), dxf(n), onesf(n, 1.0f);
  gelu_forward(yf.data(), xf.data(), n);
  gelu_backward(dxf.data(), xf.data(), onesf.data(), n);
  double worst_y = 0.0, worst_dx = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    // Against the double GELU of the float input, relative to max(1, |x|).
    const double xi = static_cast<double>(xf[i]);
    const double scale = std::max(1.0, std::abs(xi));
    double yd = 0.0, dd = 0.0, one = 1.0;
    gelu_forward(&yd, &xi, 1);
    gelu_backward(&dd, &xi, &one, 1);
    worst_y = std::max(worst_y, std::abs(yf[i] - yd) / scale);
    worst_dx = std::max(worst_dx, std::abs(dxf[i] - dd) / scale);
  }
  BOOST_TEST(worst_y < 2e-7);
  BOOST_TEST(worst_dx < 5e-7);
}

BOOST_AUTO_TEST_SUITE_END()
