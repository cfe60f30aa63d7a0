// Where `zerotune eval` and `zerotune generate` take a trained model from: a checkpoint
// directory (its meta.json holds the run's config), a run directory (its latest checkpoint),
// or a Hugging Face GPT-2 model.safetensors with its config.json beside it.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "zerotune/comm/communicator.hpp"
#include "zerotune/config/run_config.hpp"
#include "zerotune/model/gpt2_layout.hpp"
#include "zerotune/train/zero_engine.hpp"

namespace zerotune::cli {

struct ModelSource {
  config::RunConfig config;          // the run's (or defaults with the --init shape)
  std::filesystem::path checkpoint;  // empty for a safetensors file
  std::string name;                  // what the output line names
  model::Gpt2Shape shape() const;
};

// Exactly one of checkpoint and init is non-empty; overrides are --set section.key=value.
// Every rank reads the same files, so errors are UniformInputError naming the file.
ModelSource resolve_model_source(const std::string& checkpoint, const std::string& init,
                                 const std::vector<std::string>& overrides);

// A ZeRO engine (the config's stage, any world size) holding the model's parameters; it is the
// model's ParameterSource. Collective.
std::unique_ptr<train::ZeroEngine> load_model(const ModelSource& source, comm::Communicator& comm,
                                              ops::Backend& backend);

}  // namespace zerotune::cli
