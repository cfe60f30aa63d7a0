#include "zerotune/ops/matmul.hpp"

#include <boost/test/unit_test.hpp>

#include "gradcheck.hpp"

using namespace zerotune::ops;
using namespace zerotune::testing;

BOOST_AUTO_TEST_SUITE(matmul)

namespace {
constexpr int64_t N = 5, IC = 7, OC = 12;
}

BOOST_AUTO_TEST_CASE(forward_is_x_times_w_in_out_plus_bias) {
  std::mt19937_64 rng(1);
  auto x = random_vector(N * IC, rng), w = random_vector(IC * OC, rng), b = random_vector(OC, rng);
  auto y = nan_vector(N * OC), y_nobias = nan_vector(N * OC);
  matmul_forward(y.data(), x.data(), w.data(), b.data(), N, IC, OC);
  matmul_forward(y_nobias.data(), x.data(), w.data(), static_cast<const double*>(nullptr), N, IC,
                 OC);
  std::vector<double> ref(N * OC), ref_nobias(N * OC);
  for (int64_t i = 0; i < N; ++i) {
    for (int64_t o = 0; o < OC; ++o) {
      double s = 0.0;
      for (int64_t k = 0; k < IC; ++k) s += x[i * IC + k] * w[k * OC + o];
      ref_nobias[i * OC + o] = s;
      ref[i * OC + o] = s + b[o];
    }
  }
  BOOST_TEST(max_relative_error(y, ref) < 1e-14);
  BOOST_TEST(max_relative_error(y_nobias, ref_nobias) < 1e-14);
}

BOOST_AUTO_TEST_CASE(backward_matches_finite_differences_and_accumulates_parameter_grads) {
  std::mt19937_64 rng(2);
  auto x = random_vector(N * IC, rng), w = random_vector(IC * OC, rng), b = random_vector(OC, rng);
  const auto dy = random_vector(N * OC, rng);
  std::vector<double> y(N * OC);
  auto loss = [&] {
    matmul_forward(y.data(), x.data(), w.data(), b.data(), N, IC, OC);
    return weighted_sum(dy, y.data());
  };
  auto dx = nan_vector(N * IC);  // overwritten: NaN must not survive
  const auto dw0 = random_vector(IC * OC, rng), db0 = random_vector(OC, rng);
  auto dw = dw0, db = db0;  // accumulated onto these
  matmul_backward(dx.data(), dw.data(), db.data(), dy.data(), x.data(), w.data(), N, IC, OC);

  BOOST_TEST(max_relative_error(dx, numerical_gradient(x, loss)) < 1e-8);
  BOOST_TEST(max_relative_error(difference(dw, dw0), numerical_gradient(w, loss)) < 1e-8);
  BOOST_TEST(max_relative_error(difference(db, db0), numerical_gradient(b, loss)) < 1e-8);
}

BOOST_AUTO_TEST_CASE(backward_skips_dx_and_bias_when_null) {
  std::mt19937_64 rng(3);
  auto x = random_vector(N * IC, rng), w = random_vector(IC * OC, rng);
  const auto dy = random_vector(N * OC, rng);
  std::vector<double> y(N * OC);
  auto loss = [&] {
    matmul_forward(y.data(), x.data(), w.data(), static_cast<const double*>(nullptr), N, IC, OC);
    return weighted_sum(dy, y.data());
  };
  std::vector<double> dw(IC * OC, 0.0);
  matmul_backward(static_cast<double*>(nullptr), dw.data(), static_cast<double*>(nullptr),
                  dy.data(), x.data(), w.data(), N, IC, OC);
  BOOST_TEST(max_relative_error(dw, numerical_gradient(w, loss)) < 1e-8);
}

BOOST_AUTO_TEST_CASE(float_matches_double) {
  std::mt19937_64 rng(4);
  const auto x = random_vector(N * IC, rng), w = random_vector(IC * OC, rng),
             b = random_vector(OC, rng);
  std::vector<double> y(N * OC);
  matmul_forward(y.data(), x.data(), w.data(), b.data(), N, IC, OC);
  std::vector<float> xf(x.begin(), x.end()), wf(w.begin(), w.end()), bf(b.begin(), b.end()),
      yf(N * OC);
  matmul_forward(yf.data(), xf.data(), wf.data(), bf.data(), N, IC, OC);
  BOOST_TEST(max_relative_error(std::vector<double>(yf.begin(), yf.end()), y) < 1e-6);
}

BOOST_AUTO_TEST_SUITE_END()
