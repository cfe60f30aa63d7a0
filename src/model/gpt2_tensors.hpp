// Named views of the GPT-2 tensors inside a unit's flat buffer (parameters or gradients),
// with the offsets read once from the layout by Hugging Face name. Private to src/model.
#pragma once

#include <cstdint>

#include "zerotune/model/gpt2_layout.hpp"

namespace zerotune::model::detail {

struct BlockOffsets {
  int64_t ln1_w = 0, ln1_b = 0;
  int64_t attn_w = 0, attn_b = 0;            // c_attn  [C, 3C], [3C]
  int64_t attn_proj_w = 0, attn_proj_b = 0;  // attn.c_proj [C, C], [C]
  int64_t ln2_w = 0, ln2_b = 0;
  int64_t fc_w = 0, fc_b = 0;            // mlp.c_fc [C, 4C], [4C]
  int64_t fc_proj_w = 0, fc_proj_b = 0;  // mlp.c_proj [4C, C], [C]
};

struct Gpt2Offsets {
  int64_t wte = 0, wpe = 0;      // unit 0
  BlockOffsets block;            // every block unit (they share one layout)
  int64_t lnf_w = 0, lnf_b = 0;  // unit L + 1
};

inline Gpt2Offsets gpt2_offsets(const Gpt2Layout& layout) {
  Gpt2Offsets o;
  o.wte = layout.find("wte.weight").offset;
  o.wpe = layout.find("wpe.weight").offset;
  o.lnf_w = layout.find("ln_f.weight").offset;
  o.lnf_b = layout.find("ln_f.bias").offset;
  if (layout.shape.n_layer > 0) {
    auto at = [&](const char* name) { return layout.find(std::string("h.0.") + name).offset; };
    BlockOffsets& b = o.block;
    b.ln1_w = at("ln_1.weight");
    b.ln1_b = at("ln_1.bias");
    b.attn_w = at("attn.c_attn.weight");
    b.attn_b = at("attn.c_attn.bias");
    b.attn_proj_w = at("attn.c_proj.weight");
    b.attn_proj_b = at("attn.c_proj.bias");
    b.ln2_w = at("ln_2.weight");
    b.ln2_b = at("ln_2.bias");
    b.fc_w = at("mlp.c_fc.weight");
    b.fc_b = at("mlp.c_fc.bias");
    b.fc_proj_w = at("mlp.c_proj.weight");
    b.fc_proj_b = at("mlp.c_proj.bias");
  }
  return o;
}

// The same offsets in bytes, for untyped buffers of elements of `element_bytes` each.
inline BlockOffsets in_bytes(const BlockOffsets& o, int64_t element_bytes) {
  const int64_t e = element_bytes;
  return {o.ln1_w * e,       o.ln1_b * e,       o.attn_w * e,    o.attn_b * e,
          o.attn_proj_w * e, o.attn_proj_b * e, o.ln2_w * e,     o.ln2_b * e,
          o.fc_w * e,        o.fc_b * e,        o.fc_proj_w * e, o.fc_proj_b * e};
}

// P is const T* for parameters, T* for gradients (std::byte pointers with in_bytes offsets).
template <typename P>
struct BlockTensors {
  P ln1_w, ln1_b, attn_w, attn_b, attn_proj_w, attn_proj_b;
  P ln2_w, ln2_b, fc_w, fc_b, fc_proj_w, fc_proj_b;
};

template <typename P>
BlockTensors<P> block_tensors(P base, const BlockOffsets& o) {
  return {base + o.ln1_w,       base + o.ln1_b,       base + o.attn_w,    base + o.attn_b,
          base + o.attn_proj_w, base + o.attn_proj_b, base + o.ln2_w,     base + o.ln2_b,
          base + o.fc_w,        base + o.fc_b,        base + o.fc_proj_w, base + o.fc_proj_b};
}

}  // namespace zerotune::model::detail
