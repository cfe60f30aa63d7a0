#include "zerotune/ops/softmax_xent.hpp"

#include <boost/test/unit_test.hpp>

#include "gradcheck.hpp"

using namespace zerotune::ops;
using namespace zerotune::testing;

BOOST_AUTO_TEST_SUITE(softmax_xent)

namespace {
constexpr int64_t N = 6, V = 11;
const std::vector<int32_t> kTargets = {4, -100, 0, 10, -100, 4};
}  // namespace

BOOST_AUTO_TEST_CASE(forward_sums_token_losses_and_skips_ignore_index) {
  std::mt19937_64 rng(60);
  const auto logits = random_vector(N * V, rng, -3.0, 3.0);
  auto lse = nan_vector(N);
  const XentSum r = softmax_xent_forward(lse.data(), logits.data(), kTargets.data(), N, V);
  long double ref = 0.0L;
  for (int64_t i = 0; i < N; ++i) {
    long double z = 0.0L;
    for (int64_t j = 0; j < V; ++j) z += std::exp(static_cast<long double>(logits[i * V + j]));
    BOOST_TEST(std::abs(lse[i] - static_cast<double>(std::log(z))) < 1e-14);
    if (kTargets[i] == -100) continue;
    ref += -std::log(std::exp(static_cast<long double>(logits[i * V + kTargets[i]])) / z);
  }
  BOOST_TEST(r.tokens == 4);
  BOOST_TEST(std::abs(r.loss_sum - static_cast<double>(ref)) < 1e-13);
}

BOOST_AUTO_TEST_CASE(large_logits_do_not_overflow) {
  std::vector<float> logits = {1000.0f, 999.0f, -1000.0f};
  const std::vector<int32_t> target = {1};
  float lse = 0.0f;
  const XentSum r = softmax_xent_forward(&lse, logits.data(), target.data(), 1, 3);
  // -log(e^999 / (e^1000 + e^999)) = log(1 + e)
  BOOST_TEST(std::abs(r.loss_sum - std::log1p(std::exp(1.0))) < 1e-6);
  std::vector<float> dlogits(3);
  softmax_xent_backward(dlogits.data(), logits.data(), &lse, target.data(), 1.0f, 1, 3);
  // p = (e/(1+e), 1/(1+e), 0); lse ~ 1000 is held in float, so ~1e-4 is what float resolves.
  const double e = std::exp(1.0);
  BOOST_TEST(std::abs(dlogits[0] - e / (1.0 + e)) < 1e-4);
  BOOST_TEST(std::abs(dlogits[1] - (1.0 / (1.0 + e) - 1.0)) < 1e-4);
  BOOST_TEST(dlogits[2] == 0.0f);
}

BOOST_AUTO_TEST_CASE(backward_matches_finite_differences_of_scaled_sum) {
  std::mt19937_64 rng(61);
  auto logits = random_vector(N * V, rng, -3.0, 3.0);
  const double dloss = 0.37;
  std::vector<double> lse(N);
  auto loss = [&] {
    return dloss * softmax_xent_forward(lse.data(), logits.data(), kTargets.data(), N, V).loss_sum;
  };
  loss();
  auto dlogits = nan_vector(N * V);
  softmax_xent_backward(dlogits.data(), logits.data(), lse.data(), kTargets.data(), dloss, N, V);
  BOOST_TEST(max_relative_error(dlogits, numerical_gradient(logits, loss)) < 1e-8);
  for (int64_t j = 0; j < V; ++j) BOOST_TEST(dlogits[1 * V + j] == 0.0);
}

BOOST_AUTO_TEST_CASE(backward_works_in_place_over_the_logits) {
  std::mt19937_64 rng(62);
  const auto logits = random_vector(N * V, rng, -3.0, 3.0);
  std::vector<double> lse(N), dlogits(N * V);
  softmax_xent_forward(lse.data(), logits.data(), kTargets.data(), N, V);
  softmax_xent_backward(dlogits.data(), logits.data(), lse.data(), kTargets.data(), 1.0, N, V);
  auto in_place = logits;
  softmax_xent_backward(in_place.data(), in_place.data(), lse.data(), kTargets.data(), 1.0, N, V);
  BOOST_TEST(in_place == dlogits);
}

BOOST_AUTO_TEST_SUITE_END()
