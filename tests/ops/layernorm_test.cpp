#include "zerotune/ops/layernorm.hpp"

#include <boost/test/unit_test.hpp>

#include "gradcheck.hpp"

using namespace zerotune::ops;
using namespace zerotune::testing;

BOOST_AUTO_TEST_SUITE(layernorm)

namespace {
constexpr int64_t N = 5, C = 12;
}

BOOST_AUTO_TEST_CASE(forward_normalizes_each_row_then_scales_and_shifts) {
  std::mt19937_64 rng(10);
  const auto x = random_vector(N * C, rng, -3.0, 3.0), w = random_vector(C, rng),
             b = random_vector(C, rng);
  auto y = nan_vector(N * C), mean = nan_vector(N), rstd = nan_vector(N);
  layernorm_forward(y.data(), mean.data(), rstd.data(), x.data(), w.data(), b.data(), N, C);
  std::vector<double> ref(N * C);
  for (int64_t i = 0; i < N; ++i) {
    double m = 0.0, v = 0.0;
    for (int64_t c = 0; c < C; ++c) m += x[i * C + c] / C;
    for (int64_t c = 0; c < C; ++c) v += (x[i * C + c] - m) * (x[i * C + c] - m) / C;
    BOOST_TEST(std::abs(mean[i] - m) < 1e-14);
    BOOST_TEST(std::abs(rstd[i] - 1.0 / std::sqrt(v + 1e-5)) < 1e-12);
    for (int64_t c = 0; c < C; ++c) {
      ref[i * C + c] = (x[i * C + c] - m) / std::sqrt(v + 1e-5) * w[c] + b[c];
    }
  }
  BOOST_TEST(max_relative_error(y, ref) < 1e-13);
}

BOOST_AUTO_TEST_CASE(backward_matches_finite_differences_and_accumulates_all_grads) {
  std::mt19937_64 rng(11);
  auto x = random_vector(N * C, rng, -2.0, 2.0), w = random_vector(C, rng, 0.5, 1.5),
       b = random_vector(C, rng);
  const auto dy = random_vector(N * C, rng);
  std::vector<double> y(N * C), mean(N), rstd(N);
  auto loss = [&] {
    layernorm_forward(y.data(), mean.data(), rstd.data(), x.data(), w.data(), b.data(), N, C);
    return weighted_sum(dy, y.data());
  };
  loss();
  const auto dx0 = random_vector(N * C, rng), dw0 = random_vector(C, rng),
             db0 = random_vector(C, rng);
  auto dx = dx0, dw = dw0, db = db0;
  layernorm_backward(dx.data(), dw.data(), db.data(), dy.data(), x.data(), w.data(), mean.data(),
                     rstd.data(), N, C);
  BOOST_TEST(max_relative_error(difference(dx, dx0), numerical_gradient(x, loss)) < 1e-7);
  BOOST_TEST(max_relative_error(difference(dw, dw0), numerical_gradient(w, loss)) < 1e-7);
  BOOST_TEST(max_relative_error(difference(db, db0), numerical_gradient(b, loss)) < 1e-7);
}

BOOST_AUTO_TEST_SUITE_END()
