#include "zerotune/ops/residual.hpp"

#include <boost/test/unit_test.hpp>

#include "gradcheck.hpp"

using namespace zerotune::ops;
using namespace zerotune::testing;

BOOST_AUTO_TEST_SUITE(residual)

BOOST_AUTO_TEST_CASE(forward_adds_and_backward_accumulates_into_both_inputs) {
  std::mt19937_64 rng(50);
  const int64_t N = 23;
  auto a = random_vector(N, rng), b = random_vector(N, rng);
  const auto dout = random_vector(N, rng);
  std::vector<double> out(N);
  auto loss = [&] {
    residual_forward(out.data(), a.data(), b.data(), N);
    return weighted_sum(dout, out.data());
  };
  loss();
  for (int64_t i = 0; i < N; ++i) BOOST_TEST(out[i] == a[i] + b[i]);
  const auto da0 = random_vector(N, rng), db0 = random_vector(N, rng);
  auto da = da0, db = db0;
  residual_backward(da.data(), db.data(), dout.data(), N);
  BOOST_TEST(max_relative_error(difference(da, da0), numerical_gradient(a, loss)) < 1e-9);
  BOOST_TEST(max_relative_error(difference(db, db0), numerical_gradient(b, loss)) < 1e-9);
}

BOOST_AUTO_TEST_CASE(forward_may_write_over_an_input) {
  const std::vector<double> a = {1.0, 2.0, 3.0}, b = {0.5, -1.0, 4.0};
  auto out = a;
  residual_forward(out.data(), out.data(), b.data(), 3);
  BOOST_TEST(out == (std::vector<double>{1.5, 1.0, 7.0}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_SUITE_END()
