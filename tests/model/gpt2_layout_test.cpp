#include "zerotune/model/gpt2_layout.hpp"

#include <boost/test/unit_test.hpp>

using namespace zerotune::model;

BOOST_AUTO_TEST_SUITE(gpt2_layout)

// Reference: Hugging Face GPT-2 small has 124,439,808 parameters (tied head counted once).
BOOST_AUTO_TEST_CASE(gpt2_small_parameter_count_matches_hugging_face) {
  Gpt2Shape s{12, 12, 768, 1024, 50257};
  BOOST_TEST(make_gpt2_layout(s).total_numel() == 124439808);
}

BOOST_AUTO_TEST_CASE(units_are_embeddings_blocks_final_norm) {
  Gpt2Shape s{3, 2, 8, 16, 32};
  auto layout = make_gpt2_layout(s);
  BOOST_TEST(layout.units.size() == 5u);
  BOOST_TEST(layout.units[0].name == "embeddings");
  BOOST_TEST(layout.units[2].name == "h.1");
  BOOST_TEST(layout.units[4].name == "ln_f");
  int unit = -1;
  const auto& t = layout.find("h.2.mlp.c_fc.weight", &unit);
  BOOST_TEST(unit == 3);
  BOOST_TEST(t.numel == 8 * 32);
  BOOST_TEST(t.weight_decay);
  BOOST_TEST(!layout.find("h.2.ln_1.weight").weight_decay);
}

BOOST_AUTO_TEST_SUITE_END()
