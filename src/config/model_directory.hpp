// `model.init: DIR` naming a Hugging Face model directory: the model's shape comes from its
// config.json, so a config need not repeat it. Applied by parse_run_config before the checks
// between fields.
#pragma once

#include <map>
#include <string>

#include "zerotune/config/run_config.hpp"

namespace zerotune::config {

// Model families whose Hugging Face directories load, for the error that names another.
inline constexpr const char* kSupportedModelTypes =
    "gpt2 (gpt2, gpt2-medium, gpt2-large, gpt2-xl, distilgpt2)";

// When model.init is a directory: reads DIR/config.json (n_layer, n_head, n_embd, n_positions,
// vocab_size) into `model`. A shape key the config set explicitly (`origins` holds
// "model.<key>" -> "file:line: " or "--set model.<key>: ") must equal config.json's value;
// otherwise an InputError names both. Another model_type is an InputError listing the
// supported ones. Does nothing for `random` or a file.
void adopt_model_directory_shape(ModelConfig& model,
                                 const std::map<std::string, std::string>& origins);

}  // namespace zerotune::config
