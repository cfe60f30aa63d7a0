// Hugging Face model directories, as save_pretrained() writes them and
// AutoModelForCausalLM / AutoTokenizer.from_pretrained() read them:
//   config.json, generation_config.json
//   model.safetensors, or model-0000K-of-0000N.safetensors + model.safetensors.index.json
//     (index: {"metadata": {"total_size": BYTES}, "weight_map": {"<tensor>": "<file>"}})
//   vocab.json, merges.txt, tokenizer_config.json, ... (the tokenizer, when one is given)
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "zerotune/model/gpt2_layout.hpp"
#include "zerotune/model/safetensors.hpp"

namespace zerotune::model {

struct HfExportOptions {
  DType dtype = DType::kF32;  // kF32, kBF16 or kF16: the tensors' dtype and config's torch_dtype
  // Shards hold at most this many bytes of tensors (a larger single tensor gets a shard of its
  // own), as transformers' max_shard_size; its default "5GB".
  uint64_t max_shard_bytes = 5'000'000'000;
  std::filesystem::path tokenizer_dir;  // vocab.json + merges.txt to copy; "" = none
  int64_t eos_token_id = -1;            // -1: the last vocabulary id (GPT-2's <|endoftext|>)
};

// "fp32" | "bf16" | "fp16" (also PyTorch's "float32", "bfloat16", "float16"); InputError
// naming `origin` otherwise.
DType parse_export_dtype(const std::string& text, const std::string& origin);

// transformers' size strings: an integer number of bytes, or a number with KB, MB, GB (powers
// of 1000) or KiB, MiB, GiB (powers of 1024), e.g. "5GB", "200MiB". InputError naming `origin`.
uint64_t parse_shard_size(const std::string& text, const std::string& origin);

// Writes the model directory into `out` (created if missing; files of the same names are
// replaced, each through a temporary name). units[u] holds layout.units[u].numel fp32 values.
// InputError when the tokenizer directory lacks vocab.json or merges.txt.
void write_hf_directory(const std::filesystem::path& out, const Gpt2Layout& layout,
                        std::span<const float* const> units, const HfExportOptions& options);

// Loads a Hugging Face GPT-2 directory into one fp32 buffer per unit: config.json must give
// `layout.shape` (and only what Gpt2 computes, as read_gpt2_config_json checks), the weights
// come from model.safetensors or the shards model.safetensors.index.json maps (F32, F16 or
// BF16). A missing, misshapen or unexpected tensor is an InputError naming the file.
std::vector<std::vector<float>> load_hf_directory(const std::filesystem::path& dir,
                                                  const Gpt2Layout& layout);

}  // namespace zerotune::model
