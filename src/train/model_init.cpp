#include "zerotune/train/model_init.hpp"

#include <filesystem>
#include <vector>

#include "zerotune/model/gpt2.hpp"
#include "zerotune/model/gpt2_hf.hpp"
#include "zerotune/model/hf_directory.hpp"
#include "zerotune/train/nonfinite_guard.hpp"

namespace zerotune::train {

void initialize_parameters(ZeroEngine& engine, const config::ModelConfig& model, uint64_t seed) {
  const auto& layout = engine.layout();
  if (model.init == "random") {
    // Every rank computes the same full unit (deterministic in seed and unit) and keeps its part.
    for (size_t u = 0; u < layout.units.size(); ++u) {
      std::vector<float> full(layout.units[u].numel);
      model::Gpt2<float>::init_unit(layout, static_cast<int>(u), full.data(), seed, model.init_std);
      engine.set_unit_parameters(static_cast<int>(u), full.data());
    }
    return;
  }
  // A Hugging Face model directory (config.json + safetensors, maybe sharded), or one file.
  const auto units = std::filesystem::is_directory(model.init)
                         ? model::load_hf_directory(model.init, layout)
                         : model::load_gpt2_safetensors(model.init, layout);
  check_finite_parameters(model.init, layout, units);
  for (size_t u = 0; u < layout.units.size(); ++u) {
    engine.set_unit_parameters(static_cast<int>(u), units[u].data());
  }
}

}  // namespace zerotune::train
