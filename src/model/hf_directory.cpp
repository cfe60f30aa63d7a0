#include "zerotune/model/hf_directory.hpp"

#include <cctype>
#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <vector>

#include "zerotune/base/atomic_file.hpp"
#include "zerotune/base/error.hpp"
#include "zerotune/model/gpt2_hf.hpp"
#include "zerotune/model/half_float.hpp"

namespace zerotune::model {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const char* torch_dtype_name(DType dtype) {
  switch (dtype) {
    case DType::kBF16:
      return "bfloat16";
    case DType::kF16:
      return "float16";
    default:
      return "float32";
  }
}

std::string shard_file_name(size_t index, size_t count) {
  char name[64];
  std::snprintf(name, sizeof(name), "model-%05zu-of-%05zu.safetensors", index + 1, count);
  return name;
}

// One tensor of the export: its Hugging Face name, shape and fp32 values.
struct ExportTensor {
  std::string name;
  std::vector<int64_t> shape;
  const float* values;
  int64_t numel;
};

// Greedy split in layout order, as transformers' split_torch_state_dict_into_shards: a tensor
// that would push the current shard past the limit starts a new one.
std::vector<std::vector<ExportTensor>> split_into_shards(const std::vector<ExportTensor>& tensors,
                                                         int64_t element_bytes,
                                                         uint64_t max_shard_bytes) {
  std::vector<std::vector<ExportTensor>> shards(1);
  uint64_t shard_bytes = 0;
  for (const auto& t : tensors) {
    const uint64_t bytes = static_cast<uint64_t>(t.numel * element_bytes);
    if (!shards.back().empty() && shard_bytes + bytes > max_shard_bytes) {
      shards.emplace_back();
      shard_bytes = 0;
    }
    shards.back().push_back(t);
    shard_bytes += bytes;
  }
  return shards;
}

void write_shard(const fs::path& path, const std::vector<ExportTensor>& tensors, DType dtype) {
  std::vector<std::vector<uint16_t>> converted;  // the 16-bit copies, alive during the write
  std::vector<TensorView> views;
  for (const auto& t : tensors) {
    if (dtype == DType::kF32) {
      views.emplace_back(t.name, t.shape, t.values);
      continue;
    }
    std::vector<uint16_t> half(static_cast<size_t>(t.numel));
    for (int64_t i = 0; i < t.numel; ++i) {
      half[i] = dtype == DType::kBF16 ? float_to_bf16(t.values[i]) : float_to_half(t.values[i]);
    }
    converted.push_back(std::move(half));
    views.emplace_back(t.name, t.shape, dtype, converted.back().data());
  }
  // from_pretrained() wants format=pt to take the tensors as PyTorch's.
  write_safetensors(path, views, {{"format", "pt"}});
}

void copy_file_atomically(const fs::path& from, const fs::path& to) {
  std::ifstream in(from, std::ios::binary);
  if (!in) throw InputError(from.string() + ": cannot read tokenizer file");
  std::ostringstream text;
  text << in.rdbuf();
  write_file_atomically(to, text.str());
}

// The GPT-2 byte-level BPE files, and a tokenizer_config.json naming GPT2Tokenizer when the
// source has none, so that AutoTokenizer picks the right class without a model hub lookup.
void write_tokenizer(const fs::path& out, const fs::path& from, const Gpt2Shape& shape) {
  for (const char* required : {"vocab.json", "merges.txt"}) {
    if (!fs::is_regular_file(from / required)) {
      throw InputError((from / required).string() +
                       ": missing (--tokenizer names a directory with the GPT-2 vocab.json and "
                       "merges.txt)");
    }
  }
  for (const char* name : {"vocab.json", "merges.txt", "tokenizer.json", "tokenizer_config.json",
                           "special_tokens_map.json", "added_tokens.json"}) {
    if (fs::is_regular_file(from / name)) copy_file_atomically(from / name, out / name);
  }
  if (!fs::is_regular_file(from / "tokenizer_config.json")) {
    const json config = {{"tokenizer_class", "GPT2Tokenizer"}, {"model_max_length", shape.seq_len},
                         {"add_prefix_space", false},          {"bos_token", "<|endoftext|>"},
                         {"eos_token", "<|endoftext|>"},       {"unk_token", "<|endoftext|>"}};
    write_file_atomically(out / "tokenizer_config.json", config.dump(2) + "\n");
  }
}

bool ignored_tensor(const std::string& bare_name) { return ignored_hf_tensor(bare_name); }

std::string bare_name(const std::string& name) {
  const std::string prefix = "transformer.";
  return name.rfind(prefix, 0) == 0 ? name.substr(prefix.size()) : name;
}

// model.safetensors.index.json's weight_map: tensor name -> shard file name.
std::map<std::string, std::string> read_weight_map(const fs::path& path) {
  std::ifstream in(path);
  if (!in) throw InputError(path.string() + ": cannot open");
  json index;
  try {
    index = json::parse(in);
  } catch (const json::parse_error& e) {
    throw InputError(path.string() + ": not valid JSON: " + e.what());
  }
  const auto map = index.find("weight_map");
  if (!index.is_object() || map == index.end() || !map->is_object()) {
    throw InputError(path.string() + ": weight_map: expected an object of tensor -> file");
  }
  std::map<std::string, std::string> weight_map;
  for (auto it = map->begin(); it != map->end(); ++it) {
    const std::string file = it.value().is_string() ? it.value().get<std::string>() : "";
    if (file.empty() || file.find('/') != std::string::npos || file == "..") {
      throw InputError(path.string() + ": weight_map." + it.key() +
                       ": expected a file name in the directory, got " + it.value().dump());
    }
    weight_map[it.key()] = file;
  }
  return weight_map;
}

std::vector<std::vector<float>> load_sharded(const fs::path& dir, const Gpt2Layout& layout) {
  const fs::path index_path = dir / "model.safetensors.index.json";
  const auto weight_map = read_weight_map(index_path);
  std::map<std::string, std::string> file_of;  // bare name -> shard file
  for (const auto& [name, file] : weight_map) {
    const std::string bare = bare_name(name);
    if (ignored_tensor(bare)) continue;
    int unit = -1;
    try {
      layout.find(bare, &unit);
    } catch (const std::out_of_range&) {
      throw InputError(index_path.string() + ": tensor \"" + name +
                       "\" is not part of GPT-2 with " +
                       "n_layer=" + std::to_string(layout.shape.n_layer));
    }
    if (!file_of.emplace(bare, file).second) {
      throw InputError(index_path.string() + ": tensor \"" + bare + "\" appears twice");
    }
  }
  std::map<std::string, SafetensorsFile> shards;
  std::vector<std::vector<float>> units;
  for (const auto& unit : layout.units) {
    units.emplace_back(static_cast<size_t>(unit.numel));
    for (const auto& spec : unit.tensors) {
      const auto it = file_of.find(spec.name);
      if (it == file_of.end()) {
        throw InputError(index_path.string() + ": tensor \"transformer." + spec.name +
                         "\" is missing; expected shape " + shape_string(spec.shape));
      }
      auto shard = shards.find(it->second);
      if (shard == shards.end()) {
        shard = shards.emplace(it->second, SafetensorsFile(dir / it->second)).first;
      }
      const SafetensorsFile& file = shard->second;
      const SafetensorsTensor* t = file.find("transformer." + spec.name);
      if (!t) t = file.find(spec.name);
      if (!t) {
        throw InputError(file.path().string() + ": tensor \"transformer." + spec.name +
                         "\" is missing, though the index maps it to this file");
      }
      if (t->shape != spec.shape) {
        throw InputError(file.path().string() + ": tensor \"" + t->name + "\" has shape " +
                         shape_string(t->shape) + ", expected " + shape_string(spec.shape));
      }
      file.read(t->name, std::span<float>(units.back().data() + spec.offset,
                                          static_cast<size_t>(spec.numel)));
    }
  }
  return units;
}

}  // namespace

std::vector<std::vector<float>> load_hf_directory(const fs::path& dir, const Gpt2Layout& layout) {
  const Gpt2Shape s = read_gpt2_config_json(dir / "config.json");
  if (s.n_layer != layout.shape.n_layer || s.n_head != layout.shape.n_head ||
      s.n_embd != layout.shape.n_embd || s.seq_len != layout.shape.seq_len ||
      s.vocab_size != layout.shape.vocab_size) {
    throw InputError((dir / "config.json").string() +
                     ": the shape differs from the model's config (model.* keys)");
  }
  if (fs::is_regular_file(dir / "model.safetensors")) {
    return load_gpt2_safetensors(dir / "model.safetensors", layout);
  }
  if (fs::is_regular_file(dir / "model.safetensors.index.json")) return load_sharded(dir, layout);
  throw InputError(dir.string() +
                   ": no model.safetensors or model.safetensors.index.json (only safetensors "
                   "weights are read: save with save_pretrained(..., safe_serialization=True))");
}

DType parse_export_dtype(const std::string& text, const std::string& origin) {
  if (text == "fp32" || text == "float32") return DType::kF32;
  if (text == "bf16" || text == "bfloat16") return DType::kBF16;
  if (text == "fp16" || text == "float16") return DType::kF16;
  throw InputError(origin + ": expected fp32, bf16 or fp16, got \"" + text + "\"");
}

uint64_t parse_shard_size(const std::string& text, const std::string& origin) {
  size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  std::string unit = text.substr(digits);
  for (auto& c : unit) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  const std::pair<const char*, uint64_t> units[] = {{"", 1},
                                                    {"B", 1},
                                                    {"KB", 1000},
                                                    {"MB", 1000'000},
                                                    {"GB", 1000'000'000},
                                                    {"KIB", 1ull << 10},
                                                    {"MIB", 1ull << 20},
                                                    {"GIB", 1ull << 30}};
  if (digits > 0 && digits <= 15) {
    const uint64_t number = std::stoull(text.substr(0, digits));
    for (const auto& [name, scale] : units) {
      if (unit == name && number > 0) return number * scale;
    }
  }
  throw InputError(origin + ": expected a positive size such as 5GB, 500MB or 200MiB, got \"" +
                   text + "\"");
}

void write_hf_directory(const fs::path& out, const Gpt2Layout& layout,
                        std::span<const float* const> units, const HfExportOptions& options) {
  if (units.size() != layout.units.size()) {
    throw std::invalid_argument("write_hf_directory: " + std::to_string(units.size()) +
                                " buffers for " + std::to_string(layout.units.size()) + " units");
  }
  fs::create_directories(out);
  std::vector<ExportTensor> tensors;
  for (size_t u = 0; u < layout.units.size(); ++u) {
    for (const auto& spec : layout.units[u].tensors) {
      tensors.push_back(
          {"transformer." + spec.name, spec.shape, units[u] + spec.offset, spec.numel});
    }
  }
  const int64_t element_bytes = dtype_bytes(options.dtype);
  const auto shards = split_into_shards(tensors, element_bytes, options.max_shard_bytes);
  if (shards.size() == 1) {
    write_shard(out / "model.safetensors", shards[0], options.dtype);
  } else {
    json weight_map = json::object();
    uint64_t total_bytes = 0;
    for (size_t s = 0; s < shards.size(); ++s) {
      const std::string file = shard_file_name(s, shards.size());
      write_shard(out / file, shards[s], options.dtype);
      for (const auto& t : shards[s]) {
        weight_map[t.name] = file;
        total_bytes += static_cast<uint64_t>(t.numel * element_bytes);
      }
    }
    const json index = {{"metadata", {{"total_size", total_bytes}}}, {"weight_map", weight_map}};
    write_file_atomically(out / "model.safetensors.index.json", index.dump(2) + "\n");
  }

  json config = json::parse(gpt2_config_json(layout.shape, options.eos_token_id));
  config["torch_dtype"] = torch_dtype_name(options.dtype);
  write_file_atomically(out / "config.json", config.dump(2) + "\n");
  const json generation = {{"_from_model_config", true},
                           {"bos_token_id", config["bos_token_id"]},
                           {"eos_token_id", config["eos_token_id"]}};
  write_file_atomically(out / "generation_config.json", generation.dump(2) + "\n");
  if (!options.tokenizer_dir.empty()) write_tokenizer(out, options.tokenizer_dir, layout.shape);
}

}  // namespace zerotune::model
