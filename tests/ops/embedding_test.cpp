#include "zerotune/ops/embedding.hpp"

#include <boost/test/unit_test.hpp>

#include "gradcheck.hpp"

using namespace zerotune::ops;
using namespace zerotune::testing;

BOOST_AUTO_TEST_SUITE(embedding)

namespace {
constexpr int64_t B = 2, T = 5, C = 6, V = 7;
// Token 3 appears three times, so the backward must add, not overwrite.
const std::vector<int32_t> kIds = {3, 0, 3, 6, 1, 2, 3, 5, 0, 4};
}  // namespace

BOOST_AUTO_TEST_CASE(forward_adds_token_row_and_position_row) {
  std::mt19937_64 rng(40);
  const auto wte = random_vector(V * C, rng), wpe = random_vector(T * C, rng);
  auto out = nan_vector(B * T * C);
  embedding_forward(out.data(), kIds.data(), wte.data(), wpe.data(), B, T, C);
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t t = 0; t < T; ++t) {
      for (int64_t c = 0; c < C; ++c) {
        BOOST_TEST(out[(b * T + t) * C + c] == wte[kIds[b * T + t] * C + c] + wpe[t * C + c]);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(backward_scatter_adds_matching_finite_differences) {
  std::mt19937_64 rng(41);
  auto wte = random_vector(V * C, rng), wpe = random_vector(T * C, rng);
  const auto dout = random_vector(B * T * C, rng);
  std::vector<double> out(B * T * C);
  auto loss = [&] {
    embedding_forward(out.data(), kIds.data(), wte.data(), wpe.data(), B, T, C);
    return weighted_sum(dout, out.data());
  };
  const auto dwte0 = random_vector(V * C, rng), dwpe0 = random_vector(T * C, rng);
  auto dwte = dwte0, dwpe = dwpe0;
  embedding_backward(dwte.data(), dwpe.data(), dout.data(), kIds.data(), B, T, C);
  BOOST_TEST(max_relative_error(difference(dwte, dwte0), numerical_gradient(wte, loss)) < 1e-9);
  BOOST_TEST(max_relative_error(difference(dwpe, dwpe0), numerical_gradient(wpe, loss)) < 1e-9);
}

BOOST_AUTO_TEST_SUITE_END()
