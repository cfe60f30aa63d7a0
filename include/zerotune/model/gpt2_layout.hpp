// GPT-2 parameter layout: the model is a list of units (embeddings, each transformer block,
// the final LayerNorm); each unit's parameters live in one contiguous flat buffer, in the
// fixed order below, with Hugging Face names and shapes. Gradients mirror it exactly.
//
//   unit 0            "embeddings": wte [V, C], wpe [T, C]          (wte is also the LM head)
//   unit 1 .. L       "h.<i>":      ln_1.weight [C], ln_1.bias [C],
//                                   attn.c_attn.weight [C, 3C], attn.c_attn.bias [3C],
//                                   attn.c_proj.weight [C, C],  attn.c_proj.bias [C],
//                                   ln_2.weight [C], ln_2.bias [C],
//                                   mlp.c_fc.weight [C, 4C],    mlp.c_fc.bias [4C],
//                                   mlp.c_proj.weight [4C, C],  mlp.c_proj.bias [C]
//   unit L + 1        "ln_f":       ln_f.weight [C], ln_f.bias [C]
//
// Matrices are stored as Hugging Face's Conv1D stores them, [in, out], so y = x @ W + b and
// a safetensors file maps onto the buffers without transposes. Full HF names are
// "transformer." + unit prefix + tensor name (e.g. "transformer.h.3.attn.c_attn.weight").
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace zerotune::model {

struct Gpt2Shape {
  int64_t n_layer = 2;
  int64_t n_head = 2;
  int64_t n_embd = 64;
  int64_t seq_len = 64;  // n_positions: rows of wpe
  int64_t vocab_size = 256;
};

struct TensorSpec {
  std::string name;  // Hugging Face name without the "transformer." prefix
  std::vector<int64_t> shape;
  int64_t offset = 0;  // elements from the start of the unit's flat buffer
  int64_t numel = 0;
  bool weight_decay = false;  // Hugging Face: decay everything but biases and LayerNorm weights
};

struct UnitLayout {
  std::string name;  // "embeddings", "h.0", ..., "ln_f"
  std::vector<TensorSpec> tensors;
  int64_t numel = 0;  // sum of the tensors' numel, no padding
};

struct Gpt2Layout {
  Gpt2Shape shape;
  std::vector<UnitLayout> units;
  int64_t total_numel() const;
  const TensorSpec& find(const std::string& hf_name, int* unit_index = nullptr) const;
};

Gpt2Layout make_gpt2_layout(const Gpt2Shape& shape);

// Unit indices.
inline int embeddings_unit() { return 0; }
inline int block_unit(int layer) { return 1 + layer; }
inline int final_norm_unit(const Gpt2Shape& s) { return static_cast<int>(s.n_layer) + 1; }

}  // namespace zerotune::model
