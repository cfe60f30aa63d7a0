#include "zerotune/train/activation_shape.hpp"

#include <boost/test/unit_test.hpp>
#include <cmath>
#include <stdexcept>

#include "../model/gpt2_fixtures.hpp"
#include "zerotune/model/gpt2.hpp"

using namespace zerotune;

BOOST_AUTO_TEST_SUITE(activation_shape)

// A model sized for 8-token rows, reading the parameters laid out for 32 positions, gives the
// loss and gradients of the model sized for 32 (the reference: the full shape's own layout).
BOOST_AUTO_TEST_CASE(short_rows_match_the_full_shape_model) {
  const model::Gpt2Shape full{2, 2, 16, 32, 50};
  const model::Gpt2Shape cut = train::activation_shape(full, 8);
  BOOST_TEST(cut.seq_len == 8);
  const auto layout = model::make_gpt2_layout(full);
  auto params = testing::cast_buffers<float>(testing::random_parameters(layout, 3, 0.3));
  testing::ResidentParameters<float> source(params);

  const int64_t B = 2, T = 8;
  std::vector<int32_t> ids(B * T), labels(B * T);
  for (int64_t i = 0; i < B * T; ++i) {
    ids[i] = static_cast<int32_t>((i * 7 + 3) % 50);
    labels[i] = i % 5 == 0 ? model::kIgnoreIndex : static_cast<int32_t>((i * 11 + 1) % 50);
  }
  model::Gpt2<float> big(full, B), small(cut, B);
  testing::ResidentGradients<float> g_big(layout), g_small(layout);
  const auto l_big = big.forward(ids.data(), labels.data(), B, T, source);
  big.backward(1.0f, source, g_big);
  const auto l_small = small.forward(ids.data(), labels.data(), B, T, source);
  small.backward(1.0f, source, g_small);
  BOOST_TEST(l_small.tokens == l_big.tokens);
  BOOST_TEST(l_small.sum == l_big.sum, boost::test_tools::tolerance(1e-6));
  for (size_t u = 0; u < layout.units.size(); ++u) {
    for (size_t i = 0; i < g_big.buffers[u].size(); ++i) {
      const float a = g_small.buffers[u][i], b = g_big.buffers[u][i];
      BOOST_TEST_REQUIRE(std::abs(a - b) <= 1e-6f + 1e-4f * std::abs(b),
                         "unit " << u << " [" << i << "]: " << a << " vs " << b);
    }
  }
}

BOOST_AUTO_TEST_CASE(rejects_rows_longer_than_the_position_table) {
  const model::Gpt2Shape full{1, 1, 8, 16, 20};
  BOOST_CHECK_THROW(train::activation_shape(full, 17), std::invalid_argument);
  BOOST_CHECK_THROW(train::activation_shape(full, 0), std::invalid_argument);
  BOOST_TEST(train::activation_shape(full, 16).seq_len == 16);
}

BOOST_AUTO_TEST_SUITE_END()
