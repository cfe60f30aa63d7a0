#include "zerotune/model/gpt2_hf.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <string_view>

#include "zerotune/base/atomic_file.hpp"
#include "zerotune/base/error.hpp"
#include "zerotune/model/safetensors.hpp"

namespace zerotune::model {

std::string shape_string(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

bool ignored_hf_tensor(const std::string& bare_name) {
  static const std::regex mask_buffer(R"(h\.[0-9]+\.attn\.(bias|masked_bias))");
  return bare_name == "lm_head.weight" || std::regex_match(bare_name, mask_buffer);
}

namespace {

using nlohmann::json;

constexpr const char* kPrefix = "transformer.";

bool ignored_tensor(const std::string& bare_name) { return ignored_hf_tensor(bare_name); }

// The tensor named `bare` with or without the "transformer." prefix, or nullptr.
const SafetensorsTensor* find_either(const SafetensorsFile& file, const std::string& bare) {
  if (const SafetensorsTensor* t = file.find(kPrefix + bare)) return t;
  return file.find(bare);
}

// The model shape the file's tensors show (blocks h.0 .. h.{L-1}, wte [vocab_size, n_embd],
// wpe [seq_len, n_embd]) against the config's, so that the weights of another model name the
// config key that differs ("model.n_layer: the file has 4 blocks") instead of a tensor.
// n_head does not show in the tensors' shapes.
void check_model_shape(const SafetensorsFile& file, const Gpt2Shape& shape,
                       const std::filesystem::path& path) {
  auto differs = [&](const char* key, int64_t in_file, int64_t in_config, const std::string& how) {
    if (in_file != in_config) {
      throw InputError(path.string() + ": model." + key + ": the file has " +
                       std::to_string(in_file) + " (" + how + "), the config has " +
                       std::to_string(in_config) + " (does the config match the weights?)");
    }
  };
  int64_t blocks = 0;
  for (const auto& t : file.tensors()) {
    std::string_view bare = t.name;
    if (bare.starts_with(kPrefix)) bare.remove_prefix(std::string_view(kPrefix).size());
    if (!bare.starts_with("h.")) continue;
    bare.remove_prefix(2);
    int64_t index = -1;
    const auto [end, ec] = std::from_chars(bare.data(), bare.data() + bare.size(), index);
    if (ec == std::errc() && end != bare.data() && index >= 0 && index < (int64_t{1} << 40)) {
      blocks = std::max(blocks, index + 1);
    }
  }
  if (blocks > 0)
    differs("n_layer", blocks, shape.n_layer, "blocks h.0 .. h." + std::to_string(blocks - 1));
  if (const SafetensorsTensor* wte = find_either(file, "wte.weight");
      wte && wte->shape.size() == 2) {
    differs("vocab_size", wte->shape[0], shape.vocab_size, "rows of wte.weight");
    differs("n_embd", wte->shape[1], shape.n_embd, "columns of wte.weight");
  }
  if (const SafetensorsTensor* wpe = find_either(file, "wpe.weight");
      wpe && wpe->shape.size() == 2) {
    differs("seq_len", wpe->shape[0], shape.seq_len, "rows of wpe.weight");
  }
}

bool is_floating(DType dtype) {
  return dtype == DType::kF32 || dtype == DType::kF64 || dtype == DType::kF16 ||
         dtype == DType::kBF16;
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
  check_model_shape(file, layout.shape, path);

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
      // The generic reader converts integer tensors too; weights of an integer dtype are a
      // different file (token ids, masks), not parameters.
      if (!is_floating(t.dtype)) {
        throw InputError(path.string() + ": tensor \"" + t.name + "\" has dtype " +
                         dtype_name(t.dtype) +
                         ", expected a floating-point dtype (F32, F16, BF16 or F64)");
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
