// Bad numbers do not become checkpoints: weights that arrive non-finite (a model.init file)
// are refused with the tensor's name, and a step whose loss or gradient norm is not finite
// ends the run before anything of it is saved.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "zerotune/model/gpt2_layout.hpp"

namespace zerotune::train {

// "" when every value of the unit's flat buffer (layout.units[unit].numel floats) is
// finite, else "transformer.<tensor>[<index in the tensor>] is nan" for the first one
// (Hugging Face names, as in the safetensors file).
std::string first_nonfinite_value(const model::Gpt2Layout& layout, int unit, const float* values);

// InputError "<source>: transformer.h.0.attn.c_attn.weight[12] is nan: ..." when any
// unit holds a NaN or an infinity. units[u] holds layout.units[u].numel floats.
void check_finite_parameters(const std::string& source, const model::Gpt2Layout& layout,
                             const std::vector<std::vector<float>>& units);

// LibraryError (exit 3) naming the step when the global loss or gradient norm is NaN or
// infinite. With fp16 dynamic loss scaling an infinite gradient norm is an overflow that
// skips the step, so only the loss counts there (fp16_loss_scaling = true).
void check_finite_step(int64_t step, double loss, double grad_norm, bool fp16_loss_scaling);

}  // namespace zerotune::train
