// model.init naming a Hugging Face model directory: the shape comes from its config.json,
// explicit shape keys must agree, and another model_type is refused with the supported list.
#include <boost/test/unit_test.hpp>

#include "input_error.hpp"
#include "test_support.hpp"
#include "zerotune/config/run_config.hpp"

using namespace zerotune::config;
using zerotune::testing::input_error;
using zerotune::testing::ScratchDir;
using zerotune::testing::write_text_file;

namespace {

// A config.json as transformers' GPT2Config.save_pretrained writes it (the keys read here).
void write_hf_config(const std::filesystem::path& dir, const std::string& model_type) {
  std::filesystem::create_directories(dir);
  write_text_file(dir / "config.json",
                  R"({"architectures": ["GPT2LMHeadModel"], "model_type": ")" + model_type +
                      R"(", "n_layer": 3, "n_head": 4, "n_embd": 48, "n_positions": 32,
                      "vocab_size": 61, "activation_function": "gelu_new"})");
}

}  // namespace

BOOST_AUTO_TEST_SUITE(model_directory)

BOOST_AUTO_TEST_CASE(shape_comes_from_config_json) {
  ScratchDir scratch("zt-hfdir");
  write_hf_config(scratch / "gpt2", "gpt2");
  const RunConfig c =
      parse_run_config("model:\n  init: " + (scratch / "gpt2").string() + "\n", "t.yaml");
  BOOST_TEST(c.model.n_layer == 3);
  BOOST_TEST(c.model.n_head == 4);
  BOOST_TEST(c.model.n_embd == 48);
  BOOST_TEST(c.model.seq_len == 32);
  BOOST_TEST(c.model.vocab_size == 61);
  // Keys that agree are fine.
  const RunConfig same = parse_run_config(
      "model:\n  n_layer: 3\n  init: " + (scratch / "gpt2").string() + "\n", "t.yaml");
  BOOST_TEST(same.model.n_layer == 3);
}

BOOST_AUTO_TEST_CASE(disagreeing_shape_key_names_both_values) {
  ScratchDir scratch("zt-hfdir");
  const auto dir = scratch / "gpt2";
  write_hf_config(dir, "gpt2");
  BOOST_TEST(input_error([&] {
               parse_run_config("model:\n  seq_len: 64\n  init: " + dir.string() + "\n", "t.yaml");
             }) == "t.yaml:2: model.seq_len: 64 disagrees with " + (dir / "config.json").string() +
                       " n_positions 32 (leave it out to take the model's)");
  BOOST_TEST(input_error([&] {
               parse_run_config("model:\n  init: " + dir.string() + "\n", "t.yaml",
                                {"model.n_head=2"});
             }) == "--set model.n_head: 2 disagrees with " + (dir / "config.json").string() +
                       " n_head 4 (leave it out to take the model's)");
}

BOOST_AUTO_TEST_CASE(other_model_type_lists_the_supported_ones) {
  ScratchDir scratch("zt-hfdir");
  const auto dir = scratch / "llama";
  write_hf_config(dir, "llama");
  BOOST_TEST(input_error([&] {
               parse_run_config("model:\n  init: " + dir.string() + "\n", "t.yaml");
             }) == (dir / "config.json").string() +
                       ": model_type: \"llama\" is not supported; supported: gpt2 (gpt2, "
                       "gpt2-medium, gpt2-large, gpt2-xl, distilgpt2)");
  const auto empty = scratch / "empty";
  std::filesystem::create_directories(empty);
  BOOST_TEST(input_error([&] {
               parse_run_config("model:\n  init: " + empty.string() + "\n", "t.yaml");
             }).find("config.json: missing") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
