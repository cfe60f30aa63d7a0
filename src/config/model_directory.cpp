#include "model_directory.hpp"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "zerotune/base/error.hpp"

namespace zerotune::config {

namespace fs = std::filesystem;

void adopt_model_directory_shape(ModelConfig& model,
                                 const std::map<std::string, std::string>& origins) {
  std::error_code ec;
  if (model.init == "random" || !fs::is_directory(model.init, ec)) return;
  const fs::path path = fs::path(model.init) / "config.json";
  std::ifstream in(path);
  if (!in) {
    throw InputError(path.string() +
                     ": missing (model.init names a directory; expected a Hugging Face model "
                     "directory with config.json and model.safetensors)");
  }
  nlohmann::json hf;
  try {
    hf = nlohmann::json::parse(in);
  } catch (const nlohmann::json::parse_error& e) {
    throw InputError(path.string() + ": not valid JSON: " + e.what());
  }
  if (!hf.is_object()) throw InputError(path.string() + ": expected a JSON object");
  const auto type = hf.find("model_type");
  if (type == hf.end() || *type != "gpt2") {
    throw InputError(path.string() +
                     ": model_type: " + (type == hf.end() ? std::string("missing") : type->dump()) +
                     " is not supported; supported: " + kSupportedModelTypes);
  }
  struct Key {
    const char* yaml;
    const char* hf;
    int64_t* value;
  };
  const Key keys[] = {{"n_layer", "n_layer", &model.n_layer},
                      {"n_head", "n_head", &model.n_head},
                      {"n_embd", "n_embd", &model.n_embd},
                      {"seq_len", "n_positions", &model.seq_len},
                      {"vocab_size", "vocab_size", &model.vocab_size}};
  for (const Key& k : keys) {
    const auto it = hf.find(k.hf);
    if (it == hf.end() || !it->is_number_integer() || it->get<int64_t>() <= 0) {
      throw InputError(path.string() + ": " + k.hf + ": expected a positive integer, got " +
                       (it == hf.end() ? std::string("nothing") : it->dump()));
    }
    const int64_t from_directory = it->get<int64_t>();
    const auto set = origins.find(std::string("model.") + k.yaml);
    if (set != origins.end() && *k.value != from_directory) {
      // A file origin is "file:line: ", an override's already names the key.
      const std::string where =
          set->second.starts_with("--set ") ? set->second : set->second + "model." + k.yaml + ": ";
      throw InputError(where + std::to_string(*k.value) + " disagrees with " + path.string() + " " +
                       k.hf + " " + std::to_string(from_directory) +
                       " (leave it out to take the model's)");
    }
    *k.value = from_directory;
  }
}

}  // namespace zerotune::config
