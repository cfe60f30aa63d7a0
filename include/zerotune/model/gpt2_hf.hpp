// Hugging Face GPT-2 files: model.safetensors to and from the flat per-unit buffers of
// gpt2_layout.hpp, and config.json for GPT2LMHeadModel.
//
// Loading accepts the names Hugging Face writes ("transformer.h.0.ln_1.weight") and the bare
// ones of a GPT2Model ("h.0.ln_1.weight"); it ignores "lm_head.weight" (tied to wte) and the
// attention-mask buffers older checkpoints carry ("h.<i>.attn.bias", "h.<i>.attn.masked_bias").
// Any other unexpected tensor, a missing tensor or a wrong shape is an InputError naming the
// file, the tensor and the expected shape. Saving writes F32 tensors with the full
// "transformer." names, which GPT2LMHeadModel.from_pretrained() loads.
#pragma once

#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "zerotune/model/gpt2_layout.hpp"

namespace zerotune::model {

// "[2, 3]": a tensor shape in messages.
std::string shape_string(const std::vector<int64_t>& shape);

// Tensors a Hugging Face GPT-2 file may hold that the flat buffers do not: the tied LM head
// ("lm_head.weight") and the causal-mask buffers of older checkpoints ("h.<i>.attn.bias",
// "h.<i>.attn.masked_bias"). bare_name is without the "transformer." prefix.
bool ignored_hf_tensor(const std::string& bare_name);

// units[u] receives layout.units[u].numel elements (converted from any float dtype).
template <typename T>
void load_gpt2_safetensors(const std::filesystem::path& path, const Gpt2Layout& layout,
                           std::span<T* const> units);

// Allocating variant: one buffer per unit.
std::vector<std::vector<float>> load_gpt2_safetensors(const std::filesystem::path& path,
                                                      const Gpt2Layout& layout);

// units[u] holds layout.units[u].numel elements. Written via a temporary name and a rename.
void save_gpt2_safetensors(const std::filesystem::path& path, const Gpt2Layout& layout,
                           std::span<const float* const> units);

// config.json for GPT2LMHeadModel with this shape: gelu_new, layer_norm_epsilon 1e-5, tied
// embeddings, bos/eos = eos_token_id (-1: the last vocabulary id, GPT-2's <|endoftext|>).
std::string gpt2_config_json(const Gpt2Shape& shape, int64_t eos_token_id = -1);
void write_gpt2_config_json(const std::filesystem::path& path, const Gpt2Shape& shape,
                            int64_t eos_token_id = -1);

// The shape from a Hugging Face GPT-2 config.json. InputError (file and field) when a field is
// missing or names something this model does not compute (another activation, epsilon, an
// untied head, ...).
Gpt2Shape read_gpt2_config_json(const std::filesystem::path& path);

}  // namespace zerotune::model
