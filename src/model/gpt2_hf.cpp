#include "zerotune/model/gpt2_hf.hpp"

#include <cmath>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>

#include "zerotune/base/atomic_file.hpp"
#include "zerotune/base/error.hpp"
#include "zerotune/model/safetensors.hpp"

namespace zerotune::model {

namespace {

using nlohmann::json;

constexpr const char* kPrefix = "transformer.";

std::string shape_string(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// Tensors a Hugging Face GPT-2 file may hold that the flat buffers do not: the tied LM head
// and the causal-mask buffers of older checkpoints.
bool ignored_tensor(const std::string& bare_name) {
  static const std::regex mask_buffer(R"(h\.[0-9]+\.attn\.(bias|masked_bias))");
  return bare_name == "lm_head.weight" || std::regex_match(bare_name, mask_buffer);
}

}  // namespace

template <typename T>
void load_gpt2_safetensors(const std::filesystem::path& path, const Gpt2Layout& layout,
                           std::span<T* const> units) {
  if (units.size() != layout.units.size()) {
    throw std::invalid_argument("load_gpt2_safetensors: " + std::to_string(units.size()) +
                                " buffers for " + std::to_string(layout.units.size()) + " units");
  }
  const SafetensorsFile file(path);

  // Map each file tensor to its bare name; refuse strangers and duplicates.
  std::map<std::string, std::string> file_name_of;  // bare name -> name in the file
  for (const auto& t : file.tensors()) {
    std::string bare = t.name;
    if (bare.rfind(kPrefix, 0) == 0) bare = bare.substr(std::string(kPrefix).size());
    if (ignored_tensor(bare)) continue;
    int unit = -1;
    try {
      layout.find(bare, &unit);
    } catch (const std::out_of_range&) {
      throw InputError(path.string() + ": tensor \"" + t.name + "\" is not part of GPT-2 with " +
                       "n_layer=" + std::to_string(layout.shape.n_layer) +
                       " (does the config match the weights?)");
    }
    const auto [it, inserted] = file_name_of.emplace(bare, t.name);
    if (!inserted) {
      throw InputError(path.string() + ": tensor \"" + bare + "\" appears twice, as \"" +
                       it->second + "\" and \"" + t.name + "\"");
    }
  }

  for (size_t u = 0; u < layout.units.size(); ++u) {
    for (const auto& spec : layout.units[u].tensors) {
      const auto it = file_name_of.find(spec.name);
      if (it == file_name_of.end()) {
        throw InputError(path.string() + ": tensor \"" + kPrefix + spec.name +
                         "\" is missing; expected shape " + shape_string(spec.shape));
      }
      const SafetensorsTensor& t = file.at(it->second);
      if (t.shape != spec.shape) {
        throw InputError(path.string() + ": tensor \"" + t.name + "\" has shape " +
                         shape_string(t.shape) + ", expected " + shape_string(spec.shape));
      }
      file.read(t.name, std::span<T>(units[u] + spec.offset, static_cast<size_t>(spec.numel)));
    }
  }
}

template void load_gpt2_safetensors<float>(const std::filesystem::path&, const Gpt2Layout&,
                                           std::span<float* const>);
template void load_gpt2_safetensors<double>(const std::filesystem::path&, const Gpt2Layout&,
                                            std::span<double* const>);

std::vector<std::vector<float>> load_gpt2_safetensors(const std::filesystem::path& path,
                                                      const Gpt2Layout& layout) {
  std::vector<std::vector<float>> buffers;
  std::vector<float*> pointers;
  for (const auto& unit : layout.units) buffers.emplace_back(unit.numel);
  for (auto& b : buffers) pointers.push_back(b.data());
  load_gpt2_safetensors<float>(path, layout, pointers);
  return buffers;
}

void save_gpt2_safetensors(const std::filesystem::path& path, const Gpt2Layout& layout,
                           std::span<const float* const> units) {
  if (units.size() != layout.units.size()) {
    throw std::invalid_argument("save_gpt2_safetensors: " + std::to_string(units.size()) +
                                " buffers for " + std::to_string(layout.units.size()) + " units");
  }
  std::vector<TensorView> views;
  for (size_t u = 0; u < layout.units.size(); ++u) {
    for (const auto& spec : layout.units[u].tensors) {
      views.push_back({kPrefix + spec.name, spec.shape, units[u] + spec.offset});
    }
  }
  // from_pretrained() wants format=pt to take the tensors as PyTorch's.
  write_safetensors(path, views, {{"format", "pt"}});
}

std::string gpt2_config_json(const Gpt2Shape& s, int64_t eos_token_id) {
  const int64_t eos = eos_token_id >= 0 ? eos_token_id : s.vocab_size - 1;
  // Dropout values are GPT-2's defaults: they matter only to whoever trains on in PyTorch.
  const json config = {
      {"architectures", {"GPT2LMHeadModel"}},
      {"model_type", "gpt2"},
      {"n_layer", s.n_layer},
      {"n_head", s.n_head},
      {"n_embd", s.n_embd},
      {"n_positions", s.seq_len},
      {"n_ctx", s.seq_len},
      {"n_inner", nullptr},
      {"vocab_size", s.vocab_size},
      {"activation_function", "gelu_new"},
      {"layer_norm_epsilon", 1e-5},
      {"initializer_range", 0.02},
      {"attn_pdrop", 0.1},
      {"embd_pdrop", 0.1},
      {"resid_pdrop", 0.1},
      {"scale_attn_weights", true},
      {"scale_attn_by_inverse_layer_idx", false},
      {"reorder_and_upcast_attn", false},
      {"tie_word_embeddings", true},
      {"bos_token_id", eos},
      {"eos_token_id", eos},
      {"use_cache", true},
      {"torch_dtype", "float32"},
  };
  return config.dump(2) + "\n";
}

void write_gpt2_config_json(const std::filesystem::path& path, const Gpt2Shape& shape,
                            int64_t eos_token_id) {
  write_file_atomically(path, gpt2_config_json(shape, eos_token_id));
}

Gpt2Shape read_gpt2_config_json(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw InputError(path.string() + ": cannot open GPT-2 config.json");
  json config;
  try {
    config = json::parse(in);
  } catch (const json::parse_error& e) {
    throw InputError(path.string() + ": not valid JSON: " + e.what());
  }
  if (!config.is_object()) throw InputError(path.string() + ": expected a JSON object");
  auto fail = [&](const std::string& field, const std::string& expected) -> void {
    const auto it = config.find(field);
    const std::string got = it == config.end() ? "nothing" : it->dump();
    throw InputError(path.string() + ": " + field + ": expected " + expected + ", got " + got);
  };
  auto positive = [&](const std::string& field) {
    const auto it = config.find(field);
    if (it == config.end() || !it->is_number_integer() || it->get<int64_t>() <= 0) {
      fail(field, "a positive integer");
    }
    return it->get<int64_t>();
  };
  // A field that may be absent (Hugging Face's default then applies) but must hold `value`.
  auto optional_equal = [&](const std::string& field, const json& value, const std::string& what) {
    const auto it = config.find(field);
    if (it != config.end() && *it != value) fail(field, what);
  };

  optional_equal("model_type", "gpt2", "\"gpt2\"");
  Gpt2Shape s;
  s.n_layer = positive("n_layer");
  s.n_head = positive("n_head");
  s.n_embd = positive("n_embd");
  s.seq_len = positive("n_positions");
  s.vocab_size = positive("vocab_size");
  if (s.n_embd % s.n_head != 0) fail("n_head", "a divisor of n_embd");

  const auto act = config.find("activation_function");
  if (act != config.end() && *act != "gelu_new" && *act != "gelu_pytorch_tanh") {
    fail("activation_function", "\"gelu_new\" (GELU, tanh approximation)");
  }
  const auto eps = config.find("layer_norm_epsilon");
  if (eps != config.end() && (!eps->is_number() || std::abs(eps->get<double>() - 1e-5) > 1e-12)) {
    fail("layer_norm_epsilon", "1e-05");
  }
  const auto inner = config.find("n_inner");
  if (inner != config.end() && !inner->is_null() && *inner != 4 * s.n_embd) {
    fail("n_inner", "null or 4 * n_embd");
  }
  optional_equal("tie_word_embeddings", true, "true (the LM head is wte)");
  optional_equal("scale_attn_weights", true, "true");
  optional_equal("scale_attn_by_inverse_layer_idx", false, "false");
  optional_equal("add_cross_attention", false, "false");
  return s;
}

}  // namespace zerotune::model
