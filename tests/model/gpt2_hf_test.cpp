#include "zerotune/model/gpt2_hf.hpp"

#include <boost/test/unit_test.hpp>
#include <functional>
#include <nlohmann/json.hpp>
#include <numeric>

#include "input_error.hpp"
#include "test_support.hpp"
#include "zerotune/base/error.hpp"
#include "zerotune/model/safetensors.hpp"

using namespace zerotune;
using namespace zerotune::model;
using zerotune::testing::ScratchDir;
namespace fs = std::filesystem;

using zerotune::testing::input_error;

namespace {

const Gpt2Shape kShape{2, 2, 8, 6, 11};

// Distinct values everywhere: element i of unit u holds u * 1000 + i.
std::vector<std::vector<float>> numbered_units(const Gpt2Layout& layout) {
  std::vector<std::vector<float>> units;
  for (size_t u = 0; u < layout.units.size(); ++u) {
    units.emplace_back(layout.units[u].numel);
    std::iota(units.back().begin(), units.back().end(), static_cast<float>(u * 1000));
  }
  return units;
}

// Writes every layout tensor from `units` under name_of(bare name), plus `extra` tensors.
void write_named(const fs::path& path, const Gpt2Layout& layout,
                 const std::vector<std::vector<float>>& units,
                 const std::function<std::string(const std::string&)>& name_of,
                 std::vector<TensorView> extra = {}, const std::string& skip = "") {
  std::vector<TensorView> views;
  for (size_t u = 0; u < layout.units.size(); ++u) {
    for (const auto& t : layout.units[u].tensors) {
      if (t.name == skip) continue;
      views.push_back({name_of(t.name), t.shape, units[u].data() + t.offset});
    }
  }
  views.insert(views.end(), extra.begin(), extra.end());
  write_safetensors(path, views);
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(gpt2_hf)

BOOST_AUTO_TEST_CASE(save_writes_hugging_face_names_and_load_restores_units) {
  ScratchDir dir("hf");
  const auto layout = make_gpt2_layout(kShape);
  const auto units = numbered_units(layout);
  std::vector<const float*> pointers;
  for (const auto& u : units) pointers.push_back(u.data());
  save_gpt2_safetensors(dir / "model.safetensors", layout, pointers);

  SafetensorsFile file(dir / "model.safetensors");
  BOOST_TEST(file.metadata().at("format") == "pt");
  BOOST_TEST(file.tensors().size() == 2u + 12u * 2u + 2u);
  const auto& qkv = file.at("transformer.h.1.attn.c_attn.weight");
  BOOST_TEST(qkv.shape == (std::vector<int64_t>{8, 24}));
  // Unit 2 is h.1; c_attn.weight follows ln_1.weight and ln_1.bias (2 * 8 elements).
  BOOST_TEST(file.read_f32("transformer.h.1.attn.c_attn.weight")[5] == 2000.0f + 16 + 5);
  BOOST_TEST(file.read_f32("transformer.wpe.weight")[0] == 11.0f * 8);

  BOOST_TEST(load_gpt2_safetensors(dir / "model.safetensors", layout) == units);
  std::vector<std::vector<double>> doubles;
  std::vector<double*> double_pointers;
  for (const auto& u : layout.units) doubles.emplace_back(u.numel);
  for (auto& d : doubles) double_pointers.push_back(d.data());
  load_gpt2_safetensors<double>(dir / "model.safetensors", layout, double_pointers);
  BOOST_TEST(doubles[3].back() == static_cast<double>(units[3].back()));
}

BOOST_AUTO_TEST_CASE(load_accepts_bare_names_and_ignores_head_and_mask_buffers) {
  ScratchDir dir("hf");
  const auto layout = make_gpt2_layout(kShape);
  const auto units = numbered_units(layout);
  const std::vector<float> head(11 * 8, -1.0f), mask(36, 1.0f);
  write_named(dir / "bare.safetensors", layout, units, [](const std::string& n) { return n; },
              {{"lm_head.weight", {11, 8}, head.data()},
               {"h.0.attn.bias", {1, 1, 6, 6}, mask.data()},
               {"transformer.h.1.attn.masked_bias", {}, mask.data()}});
  BOOST_TEST(load_gpt2_safetensors(dir / "bare.safetensors", layout) == units);
}

BOOST_AUTO_TEST_CASE(missing_wrong_shaped_and_unexpected_tensors_are_named) {
  ScratchDir dir("hf");
  const auto layout = make_gpt2_layout(kShape);
  const auto units = numbered_units(layout);
  const auto full = [](const std::string& n) { return "transformer." + n; };

  write_named(dir / "missing.safetensors", layout, units, full, {}, "h.1.mlp.c_fc.bias");
  const std::string missing =
      input_error([&] { load_gpt2_safetensors(dir / "missing.safetensors", layout); });
  BOOST_TEST(contains(missing, "missing.safetensors"));
  BOOST_TEST(contains(missing, "\"transformer.h.1.mlp.c_fc.bias\" is missing"));
  BOOST_TEST(contains(missing, "[32]"));

  const std::vector<float> wrong(8 * 24, 0.0f);
  write_named(dir / "shape.safetensors", layout, units, full,
              {{"transformer.h.0.attn.c_attn.weight", {24, 8}, wrong.data()}},
              "h.0.attn.c_attn.weight");
  const std::string shape =
      input_error([&] { load_gpt2_safetensors(dir / "shape.safetensors", layout); });
  BOOST_TEST(contains(shape, "\"transformer.h.0.attn.c_attn.weight\" has shape [24, 8]"));
  BOOST_TEST(contains(shape, "expected [8, 24]"));

  const std::vector<float> ln(8, 1.0f);
  write_named(dir / "extra.safetensors", layout, units, full,
              {{"transformer.h.2.ln_1.weight", {8}, ln.data()}});
  BOOST_TEST(
      contains(input_error([&] { load_gpt2_safetensors(dir / "extra.safetensors", layout); }),
               "model.n_layer: the file has 3 (blocks h.0 .. h.2), the config has 2"));

  write_named(dir / "twice.safetensors", layout, units, full, {{"ln_f.bias", {8}, ln.data()}});
  BOOST_TEST(
      contains(input_error([&] { load_gpt2_safetensors(dir / "twice.safetensors", layout); }),
               "appears twice"));
}

// Weights of another model's shape name the config key that differs, not a tensor.
BOOST_AUTO_TEST_CASE(another_models_weights_name_the_shape_key) {
  ScratchDir dir("hf");
  const auto save = [&](const Gpt2Shape& shape, const fs::path& path) {
    const auto layout = make_gpt2_layout(shape);
    const auto units = numbered_units(layout);
    std::vector<const float*> pointers;
    for (const auto& u : units) pointers.push_back(u.data());
    save_gpt2_safetensors(path, layout, pointers);
  };
  const auto layout = make_gpt2_layout(kShape);  // n_layer 2, n_embd 8, seq_len 6, vocab 11
  save(Gpt2Shape{4, 2, 8, 6, 11}, dir / "four.safetensors");
  BOOST_TEST(input_error([&] { load_gpt2_safetensors(dir / "four.safetensors", layout); }) ==
             (dir / "four.safetensors").string() +
                 ": model.n_layer: the file has 4 (blocks h.0 .. h.3), the config has 2 (does "
                 "the config match the weights?)");
  save(Gpt2Shape{2, 2, 8, 6, 13}, dir / "vocab.safetensors");
  BOOST_TEST(
      contains(input_error([&] { load_gpt2_safetensors(dir / "vocab.safetensors", layout); }),
               "model.vocab_size: the file has 13 (rows of wte.weight), the config has 11"));
  save(Gpt2Shape{2, 2, 16, 6, 11}, dir / "wide.safetensors");
  BOOST_TEST(contains(input_error([&] { load_gpt2_safetensors(dir / "wide.safetensors", layout); }),
                      "model.n_embd: the file has 16"));
  save(Gpt2Shape{2, 2, 8, 9, 11}, dir / "long.safetensors");
  BOOST_TEST(contains(input_error([&] { load_gpt2_safetensors(dir / "long.safetensors", layout); }),
                      "model.seq_len: the file has 9 (rows of wpe.weight)"));
}

// A tensor of an integer dtype holds ids or masks, not weights, even in the right shape.
BOOST_AUTO_TEST_CASE(integer_tensors_are_not_weights) {
  ScratchDir dir("hf");
  const auto layout = make_gpt2_layout(kShape);
  const auto units = numbered_units(layout);
  const std::vector<int32_t> ids(8, 1);
  write_named(
      dir / "int.safetensors", layout, units,
      [](const std::string& n) { return "transformer." + n; },
      {{"transformer.ln_f.bias", {8}, ids.data()}}, "ln_f.bias");
  BOOST_TEST(contains(input_error([&] { load_gpt2_safetensors(dir / "int.safetensors", layout); }),
                      "\"transformer.ln_f.bias\" has dtype I32, expected a floating-point dtype"));
}

BOOST_AUTO_TEST_CASE(config_json_describes_the_model_for_gpt2_lm_head_model) {
  ScratchDir dir("hf");
  write_gpt2_config_json(dir / "config.json", kShape);
  const auto config = nlohmann::json::parse(zerotune::testing::read_text_file(dir / "config.json"));
  BOOST_TEST(config["architectures"][0] == "GPT2LMHeadModel");
  BOOST_TEST(config["model_type"] == "gpt2");
  BOOST_TEST(config["n_layer"] == 2);
  BOOST_TEST(config["n_head"] == 2);
  BOOST_TEST(config["n_embd"] == 8);
  BOOST_TEST(config["n_positions"] == 6);
  BOOST_TEST(config["vocab_size"] == 11);
  BOOST_TEST(config["activation_function"] == "gelu_new");
  BOOST_TEST(config["layer_norm_epsilon"] == 1e-5);
  BOOST_TEST(config["tie_word_embeddings"] == true);
  BOOST_TEST(config["eos_token_id"] == 10);

  const Gpt2Shape back = read_gpt2_config_json(dir / "config.json");
  BOOST_TEST(back.n_layer == 2);
  BOOST_TEST(back.n_head == 2);
  BOOST_TEST(back.n_embd == 8);
  BOOST_TEST(back.seq_len == 6);
  BOOST_TEST(back.vocab_size == 11);
}

BOOST_AUTO_TEST_CASE(config_json_with_other_math_is_refused) {
  ScratchDir dir("hf");
  const std::string base =
      R"("n_layer": 2, "n_head": 2, "n_embd": 8, "n_positions": 6, "vocab_size": 11)";
  auto message = [&](const std::string& extra) {
    zerotune::testing::write_text_file(dir / "config.json", "{" + base + extra + "}");
    return input_error([&] { read_gpt2_config_json(dir / "config.json"); });
  };
  BOOST_TEST(contains(message(R"(, "activation_function": "relu")"), "activation_function"));
  BOOST_TEST(contains(message(R"(, "layer_norm_epsilon": 1e-6)"), "layer_norm_epsilon"));
  BOOST_TEST(contains(message(R"(, "tie_word_embeddings": false)"), "tie_word_embeddings"));
  BOOST_TEST(contains(message(R"(, "n_inner": 7)"), "n_inner"));
  BOOST_TEST(contains(message(R"(, "model_type": "llama")"), "model_type"));
  zerotune::testing::write_text_file(dir / "config.json", R"({"n_layer": 2})");
  const std::string missing = input_error([&] { read_gpt2_config_json(dir / "config.json"); });
  BOOST_TEST(contains(missing, "config.json: n_head: expected a positive integer, got nothing"));
}

BOOST_AUTO_TEST_SUITE_END()
