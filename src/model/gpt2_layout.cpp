#include "zerotune/model/gpt2_layout.hpp"

#include <stdexcept>

namespace zerotune::model {

namespace {

void add(UnitLayout& unit, std::string name, std::vector<int64_t> shape, bool decay) {
  TensorSpec t;
  t.name = std::move(name);
  t.shape = std::move(shape);
  t.numel = 1;
  for (int64_t d : t.shape) t.numel *= d;
  t.offset = unit.numel;
  t.weight_decay = decay;
  unit.numel += t.numel;
  unit.tensors.push_back(std::move(t));
}

}  // namespace

Gpt2Layout make_gpt2_layout(const Gpt2Shape& s) {
  const int64_t C = s.n_embd;
  Gpt2Layout layout;
  layout.shape = s;

  UnitLayout emb{"embeddings", {}, 0};
  add(emb, "wte.weight", {s.vocab_size, C}, true);
  add(emb, "wpe.weight", {s.seq_len, C}, true);
  layout.units.push_back(std::move(emb));

  for (int64_t i = 0; i < s.n_layer; ++i) {
    UnitLayout blk{"h." + std::to_string(i), {}, 0};
    const std::string p = blk.name + ".";
    add(blk, p + "ln_1.weight", {C}, false);
    add(blk, p + "ln_1.bias", {C}, false);
    add(blk, p + "attn.c_attn.weight", {C, 3 * C}, true);
    add(blk, p + "attn.c_attn.bias", {3 * C}, false);
    add(blk, p + "attn.c_proj.weight", {C, C}, true);
    add(blk, p + "attn.c_proj.bias", {C}, false);
    add(blk, p + "ln_2.weight", {C}, false);
    add(blk, p + "ln_2.bias", {C}, false);
    add(blk, p + "mlp.c_fc.weight", {C, 4 * C}, true);
    add(blk, p + "mlp.c_fc.bias", {4 * C}, false);
    add(blk, p + "mlp.c_proj.weight", {4 * C, C}, true);
    add(blk, p + "mlp.c_proj.bias", {C}, false);
    layout.units.push_back(std::move(blk));
  }

  UnitLayout lnf{"ln_f", {}, 0};
  add(lnf, "ln_f.weight", {C}, false);
  add(lnf, "ln_f.bias", {C}, false);
  layout.units.push_back(std::move(lnf));
  return layout;
}

int64_t Gpt2Layout::total_numel() const {
  int64_t n = 0;
  for (const auto& u : units) n += u.numel;
  return n;
}

const TensorSpec& Gpt2Layout::find(const std::string& hf_name, int* unit_index) const {
  for (size_t u = 0; u < units.size(); ++u) {
    for (const auto& t : units[u].tensors) {
      if (t.name == hf_name) {
        if (unit_index) *unit_index = static_cast<int>(u);
        return t;
      }
    }
  }
  throw std::out_of_range("no GPT-2 tensor named " + hf_name);
}

}  // namespace zerotune::model
