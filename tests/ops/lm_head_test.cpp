#include "zerotune/ops/lm_head.hpp"

#include <boost/test/unit_test.hpp>

#include "gradcheck.hpp"

using namespace zerotune::ops;
using namespace zerotune::testing;

BOOST_AUTO_TEST_SUITE(lm_head)

namespace {
constexpr int64_t N = 5, C = 12, V = 11;
}

BOOST_AUTO_TEST_CASE(forward_is_dot_product_with_each_token_embedding) {
  std::mt19937_64 rng(70);
  const auto x = random_vector(N * C, rng), wte = random_vector(V * C, rng);
  auto logits = nan_vector(N * V);
  lm_head_forward(logits.data(), x.data(), wte.data(), N, C, V);
  std::vector<double> ref(N * V, 0.0);
  for (int64_t i = 0; i < N; ++i) {
    for (int64_t v = 0; v < V; ++v) {
      for (int64_t c = 0; c < C; ++c) ref[i * V + v] += x[i * C + c] * wte[v * C + c];
    }
  }
  BOOST_TEST(max_relative_error(logits, ref) < 1e-14);
}

BOOST_AUTO_TEST_CASE(backward_matches_finite_differences_and_accumulates_dwte) {
  std::mt19937_64 rng(71);
  auto x = random_vector(N * C, rng), wte = random_vector(V * C, rng);
  const auto dlogits = random_vector(N * V, rng);
  std::vector<double> logits(N * V);
  auto loss = [&] {
    lm_head_forward(logits.data(), x.data(), wte.data(), N, C, V);
    return weighted_sum(dlogits, logits.data());
  };
  auto dx = nan_vector(N * C);
  const auto dwte0 = random_vector(V * C, rng);
  auto dwte = dwte0;
  lm_head_backward(dx.data(), dwte.data(), dlogits.data(), x.data(), wte.data(), N, C, V);
  BOOST_TEST(max_relative_error(dx, numerical_gradient(x, loss)) < 1e-8);
  BOOST_TEST(max_relative_error(difference(dwte, dwte0), numerical_gradient(wte, loss)) < 1e-8);
}

BOOST_AUTO_TEST_SUITE_END()
