// Initial parameters: GPT-2's random init (model.init: random) or a Hugging Face GPT-2
// safetensors file or model directory (model.init: path), loaded unit by unit into the engine.
#pragma once

#include <cstdint>

#include "zerotune/config/run_config.hpp"
#include "zerotune/train/zero_engine.hpp"

namespace zerotune::train {

void initialize_parameters(ZeroEngine& engine, const config::ModelConfig& model, uint64_t seed);

}  // namespace zerotune::train
