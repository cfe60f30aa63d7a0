// The shape the model's activations are sized for: the model's own shape with seq_len cut to
// the longest row the run's data holds. A GPT-2 with a 1024-long position table fine-tuned on
// 128-token rows then allocates activations for 128 tokens a row, not 1024.
//
// This works on the parameters as laid out for the full shape because wpe is the last tensor
// of unit 0 (gpt2_layout.hpp) and every other unit's layout does not depend on seq_len: a
// model of the cut shape reads and writes the first data_seq_len rows of wpe, which are the
// positions its rows use; the gradient of the other rows stays zero, as in the full model.
#pragma once

#include <cstdint>

#include "zerotune/model/gpt2_layout.hpp"

namespace zerotune::train {

// shape with seq_len = data_seq_len. Throws std::invalid_argument when data_seq_len is not in
// [1, shape.seq_len] or when the layout no longer keeps wpe last in unit 0 (the cut would then
// misplace parameters).
model::Gpt2Shape activation_shape(const model::Gpt2Shape& shape, int64_t data_seq_len);

}  // namespace zerotune::train
