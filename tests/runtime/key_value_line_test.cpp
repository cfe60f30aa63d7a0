#include "zerotune/runtime/key_value_line.hpp"

#include <boost/test/unit_test.hpp>

using zerotune::runtime::parse_key_value_line;

BOOST_AUTO_TEST_SUITE(key_value_line)

BOOST_AUTO_TEST_CASE(reads_a_step_line_in_order) {
  const auto line = parse_key_value_line(
      "step=120/500 epoch=1 loss=2.8412 lr=4.2e-05 grad_norm=0.91 mem_peak_gib=7.80");
  BOOST_REQUIRE(line);
  BOOST_TEST(line->tag == "");
  BOOST_REQUIRE(line->fields.size() == 6u);
  BOOST_TEST(line->fields[0].first == "step");
  BOOST_TEST(line->fields[0].second == "120/500");
  BOOST_TEST(line->fields[5].first == "mem_peak_gib");
  BOOST_TEST(*line->find("lr") == "4.2e-05");
  BOOST_TEST(line->find("tokens_per_s") == nullptr);
}

BOOST_AUTO_TEST_CASE(tag_is_the_word_before_the_first_field) {
  const auto eval = parse_key_value_line("eval epoch=1 eval_loss=2.7710 eval_ppl=15.97");
  BOOST_REQUIRE(eval);
  BOOST_TEST(eval->tag == "eval");
  BOOST_TEST(*eval->find("eval_loss") == "2.7710");
  // A logger prefix before the tag does not matter; words after the first field are skipped.
  const auto summary = parse_key_value_line(
      "[2024-05-01 12:00:00.000] [info]  train_summary\ttrain_runtime=61.2 (done) "
      "peak_mem_gib=7.80");
  BOOST_REQUIRE(summary);
  BOOST_TEST(summary->tag == "train_summary");
  BOOST_REQUIRE(summary->fields.size() == 2u);
  BOOST_TEST(*summary->find("peak_mem_gib") == "7.80");
}

BOOST_AUTO_TEST_CASE(reads_quoted_and_empty_values) {
  const auto line =
      parse_key_value_line(R"(run config="configs/my \"zero3\".yaml" note= world_size=4)");
  BOOST_REQUIRE(line);
  BOOST_TEST(line->tag == "run");
  BOOST_TEST(*line->find("config") == R"(configs/my "zero3".yaml)");
  BOOST_TEST(*line->find("note") == "");
  BOOST_TEST(*line->find("world_size") == "4");
}

BOOST_AUTO_TEST_CASE(lines_without_fields_are_not_key_value_lines) {
  BOOST_TEST(!parse_key_value_line(""));
  BOOST_TEST(!parse_key_value_line("loss scale halved after an overflow"));
  BOOST_TEST(!parse_key_value_line("a == b"));
  BOOST_TEST(!parse_key_value_line("=5"));
  BOOST_TEST(!parse_key_value_line("run name=\"not closed"));
}

BOOST_AUTO_TEST_SUITE_END()
