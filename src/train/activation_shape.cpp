#include "zerotune/train/activation_shape.hpp"

#include <stdexcept>
#include <string>

namespace zerotune::train {

model::Gpt2Shape activation_shape(const model::Gpt2Shape& shape, int64_t data_seq_len) {
  if (data_seq_len < 1 || data_seq_len > shape.seq_len) {
    throw std::invalid_argument("activation_shape: data seq_len " + std::to_string(data_seq_len) +
                                " outside [1, " + std::to_string(shape.seq_len) + "]");
  }
  model::Gpt2Shape cut = shape;
  cut.seq_len = data_seq_len;
  // The cut layout must be a prefix of the full one, unit by unit.
  const model::Gpt2Layout full = model::make_gpt2_layout(shape);
  const model::Gpt2Layout part = model::make_gpt2_layout(cut);
  bool prefix = full.units.size() == part.units.size();
  for (size_t u = 0; prefix && u < full.units.size(); ++u) {
    const auto& a = full.units[u].tensors;
    const auto& b = part.units[u].tensors;
    prefix = a.size() == b.size();
    for (size_t t = 0; prefix && t < a.size(); ++t) {
      const bool last = t + 1 == a.size();
      prefix = a[t].name == b[t].name && a[t].offset == b[t].offset &&
               (a[t].numel == b[t].numel || (last && a[t].name == "wpe.weight"));
    }
  }
  if (!prefix) {
    throw std::invalid_argument(
        "activation_shape: the GPT-2 layout no longer ends unit 0 with wpe; a shorter "
        "activation shape would misplace parameters");
  }
  return cut;
}

}  // namespace zerotune::train
